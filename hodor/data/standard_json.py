"""The one loader for the standardized HODOR JSON (hodor-data-format.md), used by training and inference.

It accepts every record shape the official code reads, so our converters' files and the files from the
official workspace zip load alike:

* video **training** shape (``height``, ``width``, ``image_paths``, ``categories``, ``tracks``),
* VOS **inference** shape (``image_paths``, ``segmentations``, optional ``eval_files``; the frame size then
  comes from the first image on disk, as in the official inference reader),
* the union of both, which our converters write for DAVIS / YouTube-VOS so one file serves every reader,
* the **image** shape (COCO training: ``images`` with ``segmentations`` etc.).

Masks stay COCO RLE ``counts`` strings in memory and are decoded lazily with pycocotools (a DAVIS or
YouTube-VOS JSON holds thousands of frames; decoding them all up front would cost seconds and gigabytes).
Every malformed field raises :class:`InputError` naming the file, the sequence/image and the field.
"""

from __future__ import annotations

import contextlib
import gc
import json
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from hodor.errors import InputError

__all__ = [
    "ImageDataset",
    "ImageRecord",
    "VideoDataset",
    "VideoSequence",
    "decode_rle",
    "encode_mask",
    "load_image_dataset",
    "load_video_dataset",
    "read_json",
]

# Category given to objects of an inference-shape JSON, which carries no categories at all.
UNKNOWN_CATEGORY = 0


def decode_rle(counts: str, height: int, width: int) -> np.ndarray:
    """COCO compressed RLE counts string -> uint8 [H, W] 0/1 (C-contiguous)."""
    try:
        mask = mask_utils.decode({"size": [int(height), int(width)], "counts": counts.encode("ascii")})
    except (ValueError, UnicodeEncodeError, AttributeError) as err:
        raise InputError(
            f"RLE counts {counts[:24]!r}... is not a valid COCO RLE for size {height}x{width} ({err}); "
            "re-create the mask with pycocotools.mask.encode on a Fortran-ordered uint8 array"
        ) from None
    return np.ascontiguousarray(mask)


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """uint8/bool [H, W] 0/1 mask -> {"seg": counts str, "box": [x, y, w, h], "area": int}.

    The counts string is exactly what ``pycocotools.mask.encode`` produces on the Fortran-ordered array,
    i.e. what the official loaders decode.
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8, copy=False)))
    box = [float(v) for v in mask_utils.toBbox(rle)]
    return {"box": box, "seg": rle["counts"].decode("ascii"), "area": int(mask_utils.area(rle))}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large acyclic structure (a parsed JSON) is built.

    Parsing allocates millions of dicts and lists; they trigger collections that walk everything
    allocated so far, and full collections over an ever larger heap. Measured converting COCO-sized
    files (benchmarks/paper_scale.py): the collector took 13 of the parent's 32 CPU seconds at half
    size and 27 of 65 at full size (13 -> 17 full collections); paused, 0.5 and 1.0 s. Parsed JSON holds
    no reference cycles, so nothing is lost by collecting later; the previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: Path) -> Any:
    """Read a JSON file with an InputError (naming the file) when it is missing or malformed."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f, gc_paused():
            return json.load(f)
    except FileNotFoundError:
        raise InputError(
            f"{path}: file not found; run `hodor convert ...` (or the convert stage) first"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err}); re-create it with `hodor convert`") from None


# --------------------------------------------------------------------------------------------- video


@dataclass(frozen=True)
class VideoSequence:
    """One video of a standardized JSON. Masks are RLE counts strings decoded on demand.

    ``tracks[t]`` maps object id -> counts for frame ``t`` (``{}`` when the frame has no annotation);
    ``reference_masks`` is the JSON's ``segmentations`` (frame index -> {object id -> counts}), the masks
    inference starts from (each object's first appearance).
    """

    id: str
    height: int
    width: int
    image_paths: list[str]
    categories: dict[int, int]
    tracks: list[dict[int, str]]
    reference_masks: dict[int, dict[int, str]]
    eval_files: list[str] | None

    def __len__(self) -> int:
        return len(self.image_paths)

    def decode(self, counts: str) -> np.ndarray:
        """RLE counts of this sequence -> uint8 [H, W] 0/1."""
        try:
            return decode_rle(counts, self.height, self.width)
        except InputError as err:
            raise InputError(f"sequence {self.id!r}: {err}") from None

    def object_mask(self, frame: int, obj: int) -> np.ndarray | None:
        """uint8 [H, W] 0/1 mask of object ``obj`` at ``frame``; None if not annotated there."""
        counts = self.tracks[frame].get(obj)
        return None if counts is None else self.decode(counts)

    def label_map(self, frame: int) -> np.ndarray | None:
        """uint8 [H, W] object-id map of ``frame`` (0 = background); None if the frame is unannotated."""
        objects = self.tracks[frame]
        if not objects:
            return None
        labels = np.zeros((self.height, self.width), dtype=np.uint8)
        for obj in sorted(objects):  # raw PNG masks never overlap; ascending order makes any overlap defined
            labels[self.decode(objects[obj]) > 0] = obj
        return labels

    def first_appearance(self) -> dict[int, int]:
        """Object id -> first frame index that has its mask (from tracks, else reference masks)."""
        first: dict[int, int] = {}
        for t, objects in enumerate(self.tracks):
            for obj in objects:
                first.setdefault(obj, t)
        for t in sorted(self.reference_masks):
            for obj in self.reference_masks[t]:
                first[obj] = min(first.get(obj, t), t)
        return dict(sorted(first.items()))

    def annotated_frames(self) -> list[int]:
        """Indices of frames with at least one object mask (an annotated frame with no object looks alike)."""
        return [t for t, objects in enumerate(self.tracks) if objects]


@dataclass(frozen=True)
class VideoDataset:
    name: str
    image_root: Path
    sequences: list[VideoSequence]
    category_labels: dict[int, str]

    def image_path(self, seq: VideoSequence, frame: int) -> Path:
        return self.image_root / seq.image_paths[frame]

    def sequence(self, seq_id: str) -> VideoSequence:
        for seq in self.sequences:
            if seq.id == seq_id:
                return seq
        raise InputError(f"dataset {self.name!r}: no sequence {seq_id!r}")


class _Where:
    """Builds error messages that name the file, the record and the field."""

    def __init__(self, path: Path, record: str):
        self.path, self.record = path, record

    def error(
        self, field: str, problem: str, fix: str = "re-create the file with `hodor convert`"
    ) -> InputError:
        return InputError(f"{self.path}: {self.record}, field {field!r}: {problem}; {fix}")


def _as_int(value: Any, where: _Where, field: str) -> int:
    if isinstance(value, bool):
        raise where.error(field, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise where.error(field, f"expected an integer (or numeric string), got {value!r}")


def _relative_path(value: str, where: _Where, field: str) -> str:
    """An image path must stay inside its image folder: relative, no ``..`` component. Checked before any
    file is opened, so a hostile or mistaken JSON cannot make us read (or later write beside) other files."""
    parts = value.replace("\\", "/").split("/")
    if not value or value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":") or ".." in parts:
        raise where.error(
            field,
            f"{value!r} leaves the image folder (an absolute path or a '..' component)",
            "image paths must be relative to the dataset's image folder, e.g. 'bear/00000.jpg'",
        )
    return value


def _as_str_list(value: Any, where: _Where, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(field, "expected a list of strings")
    return list(value)


def _counts(value: Any, where: _Where, field: str) -> str:
    """An object annotation is either a counts string or {"seg": counts, ...} (training tracks)."""
    if isinstance(value, dict):
        value = value.get("seg")
    if not isinstance(value, str):
        raise where.error(field, f"expected an RLE counts string (or an object with 'seg'), got {value!r}")
    return value


def _object_map(value: Any, where: _Where, field: str) -> dict[int, str]:
    if not isinstance(value, dict):
        raise where.error(field, f"expected a mapping object id -> mask, got {type(value).__name__}")
    return {_as_int(k, where, f"{field}.{k}"): _counts(v, where, f"{field}.{k}") for k, v in value.items()}


def _frame_size(record: dict, where: _Where, image_root: Path, image_paths: list[str]) -> tuple[int, int]:
    """(height, width) from the record, else from the first image on disk (the official inference rule)."""
    if "height" in record and "width" in record:
        return _as_int(record["height"], where, "height"), _as_int(record["width"], where, "width")
    if not image_paths:
        raise where.error("image_paths", "empty, and no height/width given")
    first = image_root / image_paths[0]
    try:
        with Image.open(first) as image:
            width, height = image.size
    except (FileNotFoundError, OSError) as err:
        raise where.error(
            "height/width",
            f"absent, and the first frame {first} cannot be read for its size ({err})",
            "check the image root (workspace/dataset_images/<folder>) or add height/width to the record",
        ) from None
    return height, width


def _parse_sequence(record: Any, index: int, path: Path, image_root: Path) -> VideoSequence:
    if not isinstance(record, dict):
        raise InputError(f"{path}: sequences[{index}] is not an object")
    if not isinstance(record.get("id"), (str, int)):
        raise _Where(path, f"sequences[{index}]").error("id", "missing or not a string")
    where = _Where(path, f"sequence {str(record['id'])!r}")
    if "/" in _relative_path(str(record["id"]), where, "id").replace("\\", "/"):
        raise where.error("id", "has a path separator", "a sequence id is one folder name (it names outputs)")
    if "image_paths" not in record:
        raise where.error("image_paths", "missing")
    image_paths = _as_str_list(record["image_paths"], where, "image_paths")
    for i, image_path in enumerate(image_paths):
        _relative_path(image_path, where, f"image_paths[{i}]")
    if "tracks" not in record and "segmentations" not in record:
        raise where.error("tracks/segmentations", "neither is present, so the sequence has no masks")
    tracks: list[dict[int, str]] = [{} for _ in image_paths]
    if "tracks" in record:
        if not isinstance(record["tracks"], list) or len(record["tracks"]) != len(image_paths):
            raise where.error("tracks", f"must be a list with one entry per image path ({len(image_paths)})")
        tracks = [_object_map(t, where, f"tracks[{i}]") for i, t in enumerate(record["tracks"])]
    references: dict[int, dict[int, str]] = {}
    if "segmentations" in record:
        raw = record["segmentations"]
        if not isinstance(raw, dict):
            raise where.error("segmentations", "expected a mapping frame index -> {object id -> counts}")
        for key, objects in raw.items():
            frame = _as_int(key, where, f"segmentations.{key}")
            if not 0 <= frame < len(image_paths):
                raise where.error(f"segmentations.{key}", f"frame index outside 0..{len(image_paths) - 1}")
            references[frame] = _object_map(objects, where, f"segmentations.{key}")
    else:  # training shape: each object's first annotated frame is its reference
        seen: set[int] = set()
        for t, objects in enumerate(tracks):
            for obj, counts in objects.items():
                if obj not in seen:
                    seen.add(obj)
                    references.setdefault(t, {})[obj] = counts
    if "tracks" not in record:  # inference shape: the reference masks are the only annotations
        for frame, objects in references.items():
            tracks[frame] = dict(objects)
    height, width = _frame_size(record, where, image_root, image_paths)
    if "categories" in record:
        if not isinstance(record["categories"], dict):
            raise where.error("categories", "expected a mapping object id -> category id")
        categories = {
            _as_int(k, where, f"categories.{k}"): _as_int(v, where, f"categories.{k}")
            for k, v in record["categories"].items()
        }
    else:
        ids = {obj for objects in tracks for obj in objects}
        categories = {obj: UNKNOWN_CATEGORY for obj in sorted(ids)}
    eval_files = record.get("eval_files")
    if eval_files is not None:
        eval_files = _as_str_list(eval_files, where, "eval_files")
        for i, name in enumerate(eval_files):
            _relative_path(name, where, f"eval_files[{i}]")
    return VideoSequence(
        id=str(record["id"]),
        height=height,
        width=width,
        image_paths=image_paths,
        categories=categories,
        tracks=tracks,
        reference_masks=dict(sorted(references.items())),
        eval_files=eval_files,
    )


def _category_labels(data: dict, path: Path, required: bool) -> dict[int, str]:
    meta = data.get("meta")
    if meta is None:
        if required:
            raise InputError(f"{path}: field 'meta.category_labels' missing; re-create with `hodor convert`")
        return {}
    labels = meta.get("category_labels", {}) if isinstance(meta, dict) else None
    if not isinstance(labels, dict):
        raise InputError(f"{path}: field 'meta.category_labels' must be a mapping id -> name")
    where = _Where(path, "meta")
    return {_as_int(k, where, f"category_labels.{k}"): str(v) for k, v in labels.items()}


def load_video_dataset(json_path: Path, image_root: Path) -> VideoDataset:
    """Load a video JSON of any of the official shapes (training, inference, or both)."""
    json_path, image_root = Path(json_path), Path(image_root)
    data = read_json(json_path)
    if not isinstance(data, dict) or not isinstance(data.get("sequences"), list):
        raise InputError(f"{json_path}: field 'sequences' missing; this is not a video dataset JSON")
    sequences = [_parse_sequence(r, i, json_path, image_root) for i, r in enumerate(data["sequences"])]
    seen: set[str] = set()
    for seq in sequences:
        if seq.id in seen:
            raise InputError(f"{json_path}: sequence id {seq.id!r} appears twice; ids must be unique")
        seen.add(seq.id)
    return VideoDataset(
        name=json_path.stem,
        image_root=image_root,
        sequences=sequences,
        category_labels=_category_labels(data, json_path, required=False),
    )


# --------------------------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageRecord:
    """One COCO-style image: per-object categories, RLE counts, areas (pixels) and boxes [x, y, w, h]."""

    id: int | str
    height: int
    width: int
    image_path: str
    categories: list[int]
    segmentations: list[str]
    areas: list[float]
    bboxes: list[list[float]]

    def decode(self, index: int) -> np.ndarray:
        """Mask of object ``index`` -> uint8 [H, W] 0/1."""
        try:
            return decode_rle(self.segmentations[index], self.height, self.width)
        except InputError as err:
            raise InputError(f"image {self.id!r}, object {index}: {err}") from None


class StringTable:
    """Many strings in one bytes buffer + int64 offsets: two numpy arrays instead of N Python objects."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data, self.offsets = data, offsets

    @classmethod
    def build(cls, buffer: bytearray, offsets: array) -> StringTable:
        return cls(
            # a zero-copy view: a copy would hold the RLE text twice at the end of loading
            np.frombuffer(buffer, dtype=np.uint8),
            np.frombuffer(offsets, dtype=np.int64).copy(),
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        return self.data[self.offsets[index] : self.offsets[index + 1]].tobytes().decode("utf-8")


class ImageRecords(Sequence[ImageRecord]):
    """All images of an image-dataset JSON in flat numpy arrays; ``records[i]`` builds an :class:`ImageRecord`.

    Why: training forks loader workers. A list of per-object Python containers (860,001 COCO objects) is
    copied page by page into every worker as reference counts and the garbage collector touch it; numpy
    arrays and one buffer of RLE strings stay shared. Per image: ``ids``, ``heights``, ``widths`` [N],
    ``paths``; per object: ``object_offsets`` [N + 1] (image i owns objects ``offsets[i]:offsets[i + 1]``),
    ``object_categories`` [M] int64, ``object_areas`` [M] float64, ``object_bboxes`` [M, 4] float64,
    ``segmentations`` (RLE counts strings).
    """

    def __init__(self, ids: np.ndarray | StringTable, heights: np.ndarray, widths: np.ndarray,
                 paths: StringTable, object_offsets: np.ndarray, object_categories: np.ndarray,
                 object_areas: np.ndarray, object_bboxes: np.ndarray, segmentations: StringTable) -> None:  # fmt: skip
        self.ids, self.heights, self.widths, self.paths = ids, heights, widths, paths
        self.object_offsets, self.object_categories = object_offsets, object_categories
        self.object_areas, self.object_bboxes, self.segmentations = object_areas, object_bboxes, segmentations

    def __len__(self) -> int:
        return len(self.heights)

    def __getitem__(self, index: int) -> ImageRecord:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        lo, hi = int(self.object_offsets[index]), int(self.object_offsets[index + 1])
        ident = self.ids[index]
        return ImageRecord(
            id=ident if isinstance(ident, str) else int(ident),
            height=int(self.heights[index]),
            width=int(self.widths[index]),
            image_path=self.paths[index],
            categories=self.object_categories[lo:hi].tolist(),
            segmentations=[self.segmentations[k] for k in range(lo, hi)],
            areas=self.object_areas[lo:hi].tolist(),
            bboxes=self.object_bboxes[lo:hi].tolist(),
        )


class _ImageRecordsBuilder:
    """Appends parsed records to compact arrays (``array``/``bytearray``), so no list of records is kept."""

    def __init__(self) -> None:
        self.ids: list[int | str] = []
        self.heights, self.widths = array("q"), array("q")
        self.path_data, self.path_offsets = bytearray(), array("q", [0])
        self.object_offsets, self.categories = array("q", [0]), array("q")
        self.areas, self.bboxes = array("d"), array("d")
        self.seg_data, self.seg_offsets = bytearray(), array("q", [0])

    def add(self, record: ImageRecord) -> None:
        self.ids.append(record.id)
        self.heights.append(record.height)
        self.widths.append(record.width)
        self.path_data += record.image_path.encode("utf-8")
        self.path_offsets.append(len(self.path_data))
        self.categories.extend(record.categories)
        self.areas.extend(record.areas)
        for box, seg in zip(record.bboxes, record.segmentations, strict=True):
            self.bboxes.extend(box)
            self.seg_data += seg.encode("utf-8")
            self.seg_offsets.append(len(self.seg_data))
        self.object_offsets.append(len(self.categories))

    def finish(self) -> ImageRecords:
        numeric = all(isinstance(i, int) and not isinstance(i, bool) for i in self.ids)
        if numeric:
            ids: np.ndarray | StringTable = np.array(self.ids, dtype=np.int64)
        else:  # mixed int/str ids: keep them as strings
            enc = [str(i).encode("utf-8") for i in self.ids]
            ids = StringTable(np.frombuffer(b"".join(enc), np.uint8), np.cumsum([0] + [len(e) for e in enc]))
        as_np = lambda a, dtype: np.frombuffer(a, dtype=dtype).copy()  # noqa: E731
        return ImageRecords(
            ids=ids,
            heights=as_np(self.heights, np.int64),
            widths=as_np(self.widths, np.int64),
            paths=StringTable.build(self.path_data, self.path_offsets),
            object_offsets=as_np(self.object_offsets, np.int64),
            object_categories=as_np(self.categories, np.int64),
            object_areas=as_np(self.areas, np.float64),
            object_bboxes=as_np(self.bboxes, np.float64).reshape(-1, 4),
            segmentations=StringTable.build(self.seg_data, self.seg_offsets),
        )


@dataclass(frozen=True)
class ImageDataset:
    name: str
    image_root: Path
    images: ImageRecords
    category_labels: dict[int, str]

    def image_path(self, record: ImageRecord) -> Path:
        return self.image_root / record.image_path


def _number_list(value: Any, n: int, where: _Where, field: str) -> list:
    if not isinstance(value, list) or len(value) != n:
        raise where.error(field, f"expected a list with one entry per segmentation ({n})")
    return value


def _parse_image(record: Any, index: int, path: Path, labels: dict[int, str]) -> ImageRecord:
    if not isinstance(record, dict):
        raise InputError(f"{path}: images[{index}] is not an object")
    where = _Where(path, f"image {record.get('id', index)!r}")
    for field in ("height", "width", "image_path", "categories", "segmentations"):
        if field not in record:
            raise where.error(field, "missing")
    height, width = _as_int(record["height"], where, "height"), _as_int(record["width"], where, "width")
    if not isinstance(record["image_path"], str):
        raise where.error("image_path", "expected a string")
    _relative_path(record["image_path"], where, "image_path")
    if not isinstance(record["segmentations"], list):
        raise where.error("segmentations", "expected a list of RLE counts strings")
    segs = [_counts(s, where, "segmentations") for s in record["segmentations"]]
    categories = [
        _as_int(c, where, "categories")
        for c in _number_list(record["categories"], len(segs), where, "categories")
    ]
    for c in categories:
        if c not in labels:
            raise where.error("categories", f"category {c} is not in meta.category_labels")
    # The official loader computes each of areas / boxes from the RLEs when it is absent (or null).
    given = record.get("areas") is not None and bool(record.get("bboxes"))
    rles = [] if given else [{"size": [height, width], "counts": s.encode("ascii")} for s in segs]
    if record.get("areas") is not None:
        areas = [float(a) for a in _number_list(record["areas"], len(segs), where, "areas")]
    else:
        areas = [float(a) for a in mask_utils.area(rles)] if rles else []
    if record.get("bboxes"):
        bboxes = [[float(v) for v in b] for b in _number_list(record["bboxes"], len(segs), where, "bboxes")]
    else:
        bboxes = [[float(v) for v in b] for b in mask_utils.toBbox(rles)] if rles else []
    return ImageRecord(
        id=record.get("id", index),
        height=height,
        width=width,
        image_path=record["image_path"],
        categories=categories,
        segmentations=segs,
        areas=areas,
        bboxes=bboxes,
    )


def load_image_dataset(json_path: Path, image_root: Path) -> ImageDataset:
    """Load an image-dataset JSON (COCO training shape)."""
    json_path, image_root = Path(json_path), Path(image_root)
    data = read_json(json_path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise InputError(f"{json_path}: field 'images' missing; this is not an image dataset JSON")
    labels = _category_labels(data, json_path, required=True)
    builder = _ImageRecordsBuilder()
    records = data["images"]
    for i in range(len(records)):
        builder.add(_parse_image(records[i], i, json_path, labels))
        records[i] = None  # free the parsed dict now: peak memory is the JSON, not the JSON twice
    del data, records
    return ImageDataset(json_path.stem, image_root, builder.finish(), labels)
