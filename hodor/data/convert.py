"""Shared machinery of the raw-dataset converters: the process pool, the video record builder, and the
one entry point that turns an official dataset name into its standardized JSON plus image link.

Official names (hodor-data-format.md) and the raw folders they are made from (below a raw root such as
``data/raw``), with the image folder that ``workspace/dataset_images/<folder>`` links to:

* ``coco_2017_train``: ``coco/annotations/instances_train2017.json``; images ``coco/train2017``
* ``davis_train``, ``davis_val``: ``DAVIS/ImageSets/2017/<split>.txt``; images ``DAVIS/JPEGImages/480p``
* ``youtube_vos_2019_train``: ``youtube_vos/train/meta.json``; images ``youtube_vos/train/JPEGImages``
* ``youtube_vos_2019_val``: ``youtube_vos/valid/meta.json``; images ``youtube_vos/valid/JPEGImages``

Nothing is written until the whole split is converted and checked: then the images are linked and the
JSON is written atomically, so a failure never leaves a partial JSON behind.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hodor.atomic import write_json
from hodor.data.standard_json import encode_mask
from hodor.data.workspace import json_path, link_images
from hodor.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

# name -> (reader kind, split, path of the split below the raw root)
DATASETS: dict[str, tuple[str, str, str]] = {
    "coco_2017_train": ("coco", "train2017", "coco"),
    "davis_train": ("davis", "train", "DAVIS"),
    "davis_val": ("davis", "val", "DAVIS"),
    "youtube_vos_2019_train": ("youtube_vos", "train", "youtube_vos"),
    "youtube_vos_2019_val": ("youtube_vos", "valid", "youtube_vos"),
}


@dataclass(frozen=True)
class ConvertSummary:
    name: str
    records: int  # sequences (video datasets) or images (COCO)
    frames: int  # frames (video) or images (COCO) processed
    objects: int  # object tracks (video) or object masks (COCO)
    seconds: float
    json_path: Path | None = None
    image_root: Path | None = None

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        return (
            f"{self.name}: {self.records} records, {self.frames} frames, {self.objects} objects in "
            f"{self.seconds:.1f} s ({self.frames_per_s:.0f} frames/s)"
            + (f" -> {self.json_path}" if self.json_path else "")
        )


def encode_objects(labels: np.ndarray, ids: Sequence[int]) -> dict[str, dict[str, Any]]:
    """uint8 [H, W] id map -> {"<id>": {"box", "seg", "area"}} for the given ids (training-shape tracks)."""
    return {str(obj): encode_mask(labels == obj) for obj in ids}


def video_record(
    seq_id: str,
    *,
    height: int,
    width: int,
    image_paths: list[str],
    categories: dict[int, int],
    tracks: list[dict[str, dict[str, Any]]],
    references: dict[int, list[int]],
    eval_files: list[str] | None = None,
) -> dict[str, Any]:
    """The union record (training + inference shape). ``references``: frame -> ids whose reference mask
    (``segmentations``) is taken from that frame's track."""
    segmentations = {
        str(t): {str(obj): tracks[t][str(obj)]["seg"] for obj in sorted(ids)}
        for t, ids in sorted(references.items())
    }
    record: dict[str, Any] = {
        "id": seq_id,
        "height": height,
        "width": width,
        "image_paths": image_paths,
        "categories": {str(k): v for k, v in sorted(categories.items())},
        "tracks": tracks,
        "segmentations": segmentations,
    }
    if eval_files is not None:
        record["eval_files"] = eval_files
    return record


def first_frames(tracks: list[dict[str, Any]]) -> dict[int, list[int]]:
    """frame -> object ids that first appear there."""
    seen: set[str] = set()
    out: dict[int, list[int]] = {}
    for t, objects in enumerate(tracks):
        for key in objects:
            if key not in seen:
                seen.add(key)
                out.setdefault(t, []).append(int(key))
    return out


def dataset_root(raw_root: Path, name: str) -> Path:
    """The raw dataset folder of an official name below a raw root (``data/raw`` -> ``data/raw/DAVIS``)."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    return Path(raw_root) / DATASETS[name][2]


def build(name: str, source: Path, *, workers: int = 2, progress: bool = True, **options: Any):
    """Convert official dataset ``name`` from its raw folder ``source`` (e.g. ``data/raw/DAVIS``).

    -> (JSON document, image folder to link, ConvertSummary). Writes nothing.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    kind, split, _ = DATASETS[name]
    start = time.perf_counter()
    if kind == "coco":
        from hodor.data import coco

        doc, images, counts = coco.convert(source, workers=workers, progress=progress, **options)
    elif kind == "davis":
        from hodor.data import davis

        doc, images, counts = davis.convert(source, split, workers=workers, progress=progress)
    else:
        from hodor.data import youtube_vos

        doc, images, counts = youtube_vos.convert(source, split, workers=workers, progress=progress)
    return doc, images, ConvertSummary(name, *counts, seconds=time.perf_counter() - start)


def convert_to_workspace(
    name: str, source: Path, workspace: Path, *, workers: int = 2, progress: bool = True, **options: Any
) -> ConvertSummary:
    """Convert ``name`` from its raw folder ``source``: link its images into ``workspace``, then write
    ``workspace/dataset_json_annotations/<name>.json`` atomically (nothing at all on a bad input)."""
    doc, images, summary = build(name, source, workers=workers, progress=progress, **options)
    root = link_images(Path(workspace), name, images, _image_paths(doc))
    out = json_path(Path(workspace), name)
    write_json(out, doc)
    return replace(summary, json_path=out, image_root=root)


def convert_to_file(
    name: str, source: Path, out: Path, *, workers: int = 2, progress: bool = True, **options: Any
) -> ConvertSummary:
    """Convert ``name`` from ``source`` into the JSON file ``out`` only (no image link)."""
    doc, _, summary = build(name, source, workers=workers, progress=progress, **options)
    write_json(out, doc)
    return replace(summary, json_path=Path(out))


def _image_paths(doc: dict[str, Any]) -> list[str]:
    if "images" in doc:
        return [r["image_path"] for r in doc["images"]]
    return [p for s in doc["sequences"] for p in s["image_paths"]]
