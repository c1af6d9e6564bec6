"""YouTube-VOS 2019 reader: ``<split>/JPEGImages/<video>/*.jpg``, ``<split>/Annotations/<video>/*.png``
(palette PNGs, pixel = object id) and ``<split>/meta.json`` -> standardized JSON.

``meta.json`` is ``{"videos": {"<video>": {"objects": {"<id>": {"category": name, "frames": [stems]}}}}}``;
an object's first listed frame is its first appearance (in ``train`` the first PNG holding the object is
used instead, so a sloppy meta.json there cannot drop a usable object). In ``train`` every 5th frame is
annotated; in
``valid`` only the frame where each object first appears has a PNG, so ``segmentations`` (the reference
masks inference starts from) holds each object's mask from that frame, ``tracks`` holds what the PNGs hold,
and ``eval_files`` lists every frame (the submission needs a PNG for each). Category ids number the split's
sorted category names 1..N (names are in ``meta.category_labels``; compare splits by name, e.g. for the
seen/unseen split of the evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hodor.convert.records import encode_objects, video_record
from hodor.convert.validate import (
    IMAGE_SUFFIXES,
    check_name,
    check_not_empty,
    check_not_only_void,
    check_unique,
    frame_labels,
    list_frames,
    object_ids,
)
from hodor.data.standard_json import read_json
from hodor.errors import InputError
from hodor.parallel import parallel_map

DEFAULT_CATEGORY = "object"  # for objects whose meta.json entry has no category


@dataclass(frozen=True)
class VideoTask:
    split_root: Path
    name: str
    objects: dict[int, tuple[int, str | None]]  # object id -> (category id, first-appearance frame stem)
    eval_files: bool  # valid: list every frame in eval_files


def read_meta(split_root: Path) -> tuple[dict[str, dict[int, tuple[str, str | None]]], dict[str, int]]:
    """meta.json -> ({video: {object id: (category name, first frame stem)}}, {category name: id})."""
    path = split_root / "meta.json"
    data = read_json(path)
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise InputError(f"{path}: field 'videos' missing or not a mapping; use the meta.json of the release")
    check_not_empty(len(videos), str(path), "split is empty ('videos' has no entry)", "list the videos")
    out: dict[str, dict[int, tuple[str, str | None]]] = {}
    for video, entry in videos.items():
        check_name(video, str(path), "video name")
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objects, dict):
            raise InputError(f"{path}: video {video!r}, field 'objects' missing or not a mapping")
        out[video] = {}
        for key, obj in objects.items():
            if not str(key).isdigit() or not 0 < int(key) < 255:
                raise InputError(f"{path}: video {video!r}, object id {key!r} is not an integer in 1..254")
            frames = (obj.get("frames") or []) if isinstance(obj, dict) else []
            check_unique(frames, f"{path}: video {video!r}, object {key}", "frame in 'frames'")
            name = obj.get("category") if isinstance(obj, dict) else None
            out[video][int(key)] = (str(name or DEFAULT_CATEGORY), str(frames[0]) if frames else None)
    names = sorted({name for objs in out.values() for name, _ in objs.values()})
    return out, {name: i + 1 for i, name in enumerate(names)}


def convert_video(task: VideoTask) -> dict[str, Any]:
    """One video -> union record; raises InputError on any bad file (runs in a worker process)."""
    where = f"YouTube-VOS video {task.name!r}"
    jpeg_dir = task.split_root / "JPEGImages" / task.name
    ann_dir = task.split_root / "Annotations" / task.name
    if not jpeg_dir.is_dir():
        raise InputError(f"{where}: meta.json names this video but {jpeg_dir} is missing; restore the folder "
                         "or remove the video from meta.json")  # fmt: skip
    frames = list_frames(jpeg_dir, IMAGE_SUFFIXES, where)
    masks = list_frames(ann_dir, (".png",), where) if ann_dir.is_dir() else {}
    orphans = sorted(set(masks) - set(frames))
    if orphans:
        raise InputError(f"{where}: annotation {masks[orphans[0]]} has no image in {jpeg_dir}; restore the "
                         "image or delete the annotation")  # fmt: skip
    check_not_empty(len(frames), f"{where} ({jpeg_dir})", "no frames", "restore the JPEG frames")
    stems = sorted(frames)
    size, tracks, seen_ids, any_void = None, [], set(), False
    for stem, hw, labels in frame_labels(frames, masks, where, "video"):
        size = hw  # one size for all frames (checked)
        if labels is None:
            tracks.append({})
            continue
        ids, void = object_ids(labels)
        unknown = sorted(set(ids) - set(task.objects))
        if unknown:
            raise InputError(f"{where}, frame {stem}: {masks[stem]} has object id(s) {unknown} that meta.json "
                             f"does not list (it lists {sorted(task.objects)}); fix meta.json or the PNG")  # fmt: skip
        seen_ids.update(ids)
        any_void |= void
        tracks.append(encode_objects(labels, ids))
    check_not_only_void(seen_ids, any_void, f"{where} ({ann_dir})")
    references = _references(task, stems, tracks, ann_dir, where)
    return video_record(
        task.name,
        height=size[0],
        width=size[1],
        image_paths=[f"{task.name}/{frames[s].name}" for s in stems],
        categories={obj: cat for obj, (cat, _) in task.objects.items()},
        tracks=tracks,
        references=references,
        eval_files=[frames[s].name for s in stems] if task.eval_files else None,
    )


def _references(task: VideoTask, stems: list[str], tracks: list[dict], ann_dir: Path, where: str):
    """frame index -> ids first appearing there; every meta.json object must have its mask at that frame."""
    index = {stem: i for i, stem in enumerate(stems)}
    check_not_empty(len(task.objects), where, "meta.json lists no object", "remove the video or add objects")
    references: dict[int, list[int]] = {}
    for obj, (_, first) in sorted(task.objects.items()):
        if first is None:  # no 'frames' list in meta.json: the first PNG holding the id
            first = next((s for s, t in zip(stems, tracks, strict=True) if str(obj) in t), None)
        t = index.get(first) if first is not None else None
        if t is None or str(obj) not in tracks[t]:
            raise InputError(f"{where}: object {obj} (meta.json) {_no_mask_reason(obj, first, t, ann_dir)}; "
                             "add the object's mask at its first frame or remove the object from meta.json")  # fmt: skip
        references.setdefault(t, []).append(obj)
    return references


def _no_mask_reason(obj: int, first: str | None, t: int | None, ann_dir: Path) -> str:
    if first is None:
        return f"appears in no annotation PNG of {ann_dir}"
    if t is None:
        return f"first appears at frame {first}, which has no image"
    png = ann_dir / f"{first}.png"
    if not png.exists():
        return f"first appears at frame {first} but its annotation {png} is missing"
    return f"first appears at frame {first} but {png} has no pixel with id {obj} (empty mask)"


def convert(root: Path, split: str, *, workers: int = 2, progress: bool = True):
    """YouTube-VOS root + split (train|valid) -> (JSON doc, image folder, (videos, frames, objects))."""
    split_root = Path(root) / split
    meta, category_ids = read_meta(split_root)
    tasks = [
        VideoTask(
            split_root,
            video,
            # train: the first PNG holding the object (what training uses); valid: meta.json's first frame,
            # which must hold the reference mask that inference starts from
            {
                obj: (category_ids[name], first if split != "train" else None)
                for obj, (name, first) in objects.items()
            },
            eval_files=split != "train",
        )
        for video, objects in sorted(meta.items())
    ]
    weights = [_count_frames(split_root / "JPEGImages" / t.name) for t in tasks]
    records = parallel_map(convert_video, tasks, workers=workers, weights=weights,
                           desc=f"YouTube-VOS {split}", unit="frame", progress=progress)  # fmt: skip
    doc = {
        "meta": {
            "category_labels": {str(i): name for name, i in category_ids.items()},
            "source": f"YouTube-VOS 2019 {split}",
        },
        "sequences": records,
    }
    counts = (
        len(records),
        sum(len(r["image_paths"]) for r in records),
        sum(len(r["categories"]) for r in records),
    )
    return doc, split_root / "JPEGImages", counts


def _count_frames(folder: Path) -> int:
    return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 1
