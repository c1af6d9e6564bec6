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

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hodor.convert.policy import ItemLog
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
    strict: bool = True
    frames_root: Path | None = None  # valid_all_frames/JPEGImages: image_paths from there (all 30 fps frames)


def read_meta(
    split_root: Path, log: ItemLog | None = None
) -> tuple[dict[str, dict[int, tuple[str, str | None]]], dict[str, int]]:
    """meta.json -> ({video: {object id: (category name, first frame stem)}}, {category name: id}).

    ``log`` None (strict): a frame listed twice is refused; else the repeat is dropped and logged."""
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
            if log is None:
                check_unique(frames, f"{path}: video {video!r}, object {key}", "frame in 'frames'")
            elif len(set(frames)) != len(frames):
                log.repair(path, f"video {video}, object {key}", f"frame(s) {_repeated(frames)} listed twice "
                           "in 'frames'; kept the first of each")  # fmt: skip
                frames = list(dict.fromkeys(frames))
            name = obj.get("category") if isinstance(obj, dict) else None
            out[video][int(key)] = (str(name or DEFAULT_CATEGORY), str(frames[0]) if frames else None)
    names = sorted({name for objs in out.values() for name, _ in objs.values()})
    return out, {name: i + 1 for i, name in enumerate(names)}


def _repeated(frames: list) -> list:
    return sorted({f for f in frames if frames.count(f) > 1})


def convert_video(task: VideoTask) -> tuple[dict[str, Any] | None, ItemLog]:
    """One video -> (union record or None when skipped, log). Runs in a worker process.

    Strict: any problem raises. Otherwise a bad file skips the whole video (frame indices and the
    temporal window stay right), a PNG id meta.json does not list is dropped from the masks, and an
    object without its first-appearance mask is dropped; each with a report entry."""
    log = ItemLog(totals=Counter(videos=1, objects=len(task.objects)))
    try:
        record = _video(task, log)
    except InputError as err:
        if task.strict:
            raise
        log.skip("videos", task.split_root / "JPEGImages" / task.name, f"video {task.name}", str(err))
        return None, log
    return record, log


def _video(task: VideoTask, log: ItemLog) -> dict[str, Any]:
    where = f"YouTube-VOS video {task.name!r}"
    jpeg_dir = (task.frames_root or task.split_root / "JPEGImages") / task.name
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
            reason = (f"{where}, frame {stem}: {masks[stem]} has object id(s) {unknown} that meta.json "
                      f"does not list (it lists {sorted(task.objects)}); fix meta.json or the PNG")  # fmt: skip
            if task.strict:
                raise InputError(reason)
            log.repair(
                masks[stem], f"video {task.name}, frame {stem}", reason + " (ids dropped as background)"
            )
            ids = [i for i in ids if i in task.objects]
        seen_ids.update(ids)
        any_void |= void
        tracks.append(encode_objects(labels, ids))
    check_not_only_void(seen_ids, any_void, f"{where} ({ann_dir})")
    references = _references(task, stems, tracks, ann_dir, where, log)
    kept = {obj for ids in references.values() for obj in ids}
    tracks = [{k: v for k, v in t.items() if int(k) in kept} for t in tracks]
    return video_record(
        task.name,
        height=size[0],
        width=size[1],
        image_paths=[f"{task.name}/{frames[s].name}" for s in stems],
        categories={obj: cat for obj, (cat, _) in task.objects.items() if obj in kept},
        tracks=tracks,
        references=references,
        eval_files=_eval_files(task, frames, where) if task.eval_files else None,
    )


def _eval_files(task: VideoTask, frames: dict[str, Path], where: str) -> list[str]:
    """The frames the server scores: every frame of the split's own JPEGImages (``valid``: every 5th
    frame of the video). With ``valid_all_frames`` the image paths hold all frames, so the scored ones
    come from ``valid/JPEGImages`` and must be among them."""
    if task.frames_root is None:
        return [frames[s].name for s in sorted(frames)]
    scored_dir = task.split_root / "JPEGImages" / task.name
    scored = list_frames(scored_dir, IMAGE_SUFFIXES, where) if scored_dir.is_dir() else {}
    check_not_empty(len(scored), f"{where} ({scored_dir})", "no frames to score", "restore the valid/ frames")
    absent = sorted(set(scored) - set(frames))
    if absent:
        raise InputError(f"{where}: frame {absent[0]} of {scored_dir} is not in {task.frames_root / task.name}; "
                         "valid/ and valid_all_frames/ must come from the same release")  # fmt: skip
    return [frames[s].name for s in sorted(scored)]


def _references(
    task: VideoTask, stems: list[str], tracks: list[dict], ann_dir: Path, where: str, log: ItemLog
):
    """frame index -> ids first appearing there; every meta.json object must have its mask at that frame
    (strict), else it is dropped with a report entry. A video left with no object is skipped."""
    index = {stem: i for i, stem in enumerate(stems)}
    check_not_empty(len(task.objects), where, "meta.json lists no object", "remove the video or add objects")
    references: dict[int, list[int]] = {}
    for obj, (_, first) in sorted(task.objects.items()):
        if first is None:  # no 'frames' list in meta.json: the first PNG holding the id
            first = next((s for s, t in zip(stems, tracks, strict=True) if str(obj) in t), None)
        t = index.get(first) if first is not None else None
        if t is None or str(obj) not in tracks[t]:
            reason = (f"{where}: object {obj} (meta.json) {_no_mask_reason(obj, first, t, ann_dir)}; add the "
                      "object's mask at its first frame or remove the object from meta.json")  # fmt: skip
            if task.strict:
                raise InputError(reason)
            log.skip("objects", ann_dir, f"video {task.name}, object {obj}", reason)
            continue
        references.setdefault(t, []).append(obj)
    check_not_empty(len(references), where, "no object of meta.json has a mask", "see the entries above")
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


def convert(
    root: Path, split: str, *, workers: int = 2, progress: bool = True, strict: bool = True, frames: str = ""
):
    """YouTube-VOS root + split (train|valid) -> (JSON doc, image folder, (videos, frames, objects), log).

    ``frames``: the folder whose JPEGImages give the image paths (default: the split's own). For
    ``valid``, ``valid_all_frames`` runs inference on every frame of the 30 fps video (annotations,
    meta.json and the scored frames, ``eval_files``, still come from ``valid/``)."""
    split_root = Path(root) / split
    frames = frames or split
    frames_root = None if frames == split else Path(root) / frames / "JPEGImages"
    if frames_root is not None and not frames_root.is_dir():
        raise InputError(
            f"{frames_root}: not found; the {frames} download must be unpacked beside {split_root}"
        )
    log = ItemLog()
    meta, category_ids = read_meta(split_root, None if strict else log)
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
            strict=strict,
            frames_root=frames_root,
        )
        for video, objects in sorted(meta.items())
    ]
    weights = [_count_frames((frames_root or split_root / "JPEGImages") / t.name) for t in tasks]
    results = parallel_map(convert_video, tasks, workers=workers, weights=weights,
                           desc=f"YouTube-VOS {split}", unit="frame", progress=progress)  # fmt: skip
    for _, task_log in results:
        log.merge(task_log)
    records = [r for r, _ in results if r is not None]
    check_not_empty(len(records), f"YouTube-VOS {split} ({split_root})", "no video could be converted",
                    "see the report for why each was skipped")  # fmt: skip
    doc = {
        "meta": {
            "category_labels": {str(i): name for name, i in category_ids.items()},
            "source": f"YouTube-VOS 2019 {split}" + (f" (frames: {frames})" if frames_root else ""),
        },
        "sequences": records,
    }
    counts = (
        len(records),
        sum(len(r["image_paths"]) for r in records),
        sum(len(r["categories"]) for r in records),
    )
    return doc, frames_root or split_root / "JPEGImages", counts, log


def _count_frames(folder: Path) -> int:
    return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 1
