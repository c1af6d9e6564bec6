"""DAVIS 2017 reader: ``JPEGImages/480p/<seq>/*.jpg``, ``Annotations/480p/<seq>/*.png`` (palette PNGs,
pixel = object id, 0 background, 255 void), ``ImageSets/2017/{train,val}.txt`` -> standardized JSON.

Object ids are the PNG label values (1..K, no gaps); void pixels count as background in the stored masks
(as the DAVIS evaluation does). DAVIS has no categories: every object gets category 1 ("object").
Frames without a PNG (DAVIS test-dev style) get ``{}`` in ``tracks``; the first frame must be annotated
and holds the reference masks (``segmentations`` = frame 0 only, the semi-supervised protocol).
Each sequence is converted in a worker process; a bad file skips its sequence (hodor.convert.policy), or,
strict, fails the conversion.
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
    check_consecutive_ids,
    check_name,
    check_not_empty,
    check_not_only_void,
    check_unique,
    frame_labels,
    list_frames,
    object_ids,
)
from hodor.errors import InputError
from hodor.parallel import parallel_map

RESOLUTION = "480p"
CATEGORY_ID, CATEGORY_NAME = 1, "object"


@dataclass(frozen=True)
class SequenceTask:
    root: Path
    name: str
    strict: bool = True
    split: str = "train"


def read_split(root: Path, split: str) -> list[str]:
    """Sequence names of ``ImageSets/2017/<split>.txt``, checked (plain names, unique, non-empty list)."""
    path = Path(root) / "ImageSets" / "2017" / f"{split}.txt"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise InputError(
            f"{path}: split file not found; the DAVIS root must hold ImageSets/2017/{split}.txt "
            "(check the raw root, e.g. data/synthetic/DAVIS)"
        ) from None
    names = [line.strip() for line in lines if line.strip()]
    check_not_empty(len(names), str(path), f"split {split!r} is empty", "list one sequence name per line")
    for name in names:
        check_name(name, str(path), "sequence name")
    check_unique(names, str(path), "sequence")
    return names


def convert_sequence(task: SequenceTask) -> tuple[dict[str, Any] | None, ItemLog]:
    """One sequence -> (union record or None when skipped, log). Runs in a worker process.

    Strict: any bad file raises. Otherwise a bad file skips the whole sequence (its frame indices would
    be wrong without it) and an id gap is kept as is, each with a report entry."""
    log = ItemLog(totals=Counter(videos=1))
    try:
        record = _sequence(task, log)
    except InputError as err:
        if task.strict:
            raise
        folder = task.root / "JPEGImages" / RESOLUTION / task.name
        log.skip("videos", folder, f"sequence {task.name}", str(err))
        return None, log
    log.totals["objects"] += len(record["categories"])
    return record, log


def _sequence(task: SequenceTask, log: ItemLog) -> dict[str, Any]:
    where = f"DAVIS sequence {task.name!r}"
    jpeg_dir = task.root / "JPEGImages" / RESOLUTION / task.name
    ann_dir = task.root / "Annotations" / RESOLUTION / task.name
    for folder in (jpeg_dir, ann_dir):
        if not folder.is_dir():
            raise InputError(f"{where}: folder {folder} is missing but the split file lists the sequence; "
                             "restore the folder or remove the name from ImageSets/2017/<split>.txt")  # fmt: skip
    frames = list_frames(jpeg_dir, IMAGE_SUFFIXES, where)
    masks = list_frames(ann_dir, (".png",), where)
    orphans = sorted(set(masks) - set(frames))
    if orphans:
        raise InputError(
            f"{where}: annotation {ann_dir / (orphans[0] + '.png')} has no image "
            f"{jpeg_dir / (orphans[0] + '.jpg')}; restore the image or delete the annotation"
        )
    check_not_empty(len(frames), f"{where} ({jpeg_dir})", "no frames", "restore the JPEG frames")
    stems = sorted(frames)
    if stems[0] not in masks:
        raise InputError(f"{where}: first frame {stems[0]} has no annotation PNG in {ann_dir}; add it")
    size, tracks, all_ids, any_void = None, [], set(), False
    for _, hw, labels in frame_labels(frames, masks, where, "sequence"):
        size = hw  # one size for all frames (checked)
        if labels is None:
            tracks.append({})
            continue
        ids, void = object_ids(labels)
        all_ids.update(ids)
        any_void |= void
        tracks.append(encode_objects(labels, ids))
    check_not_only_void(all_ids, any_void, f"{where} ({ann_dir})")
    check_not_empty(len(all_ids), f"{where} ({ann_dir})", "every annotation PNG is empty (only 0)",
                    "draw the objects with ids 1..K, or drop the sequence from the split file")  # fmt: skip
    if task.strict:
        check_consecutive_ids(all_ids, f"{where} ({ann_dir})")
    elif all_ids != set(range(1, max(all_ids) + 1)):
        missing = sorted(set(range(1, max(all_ids) + 1)) - all_ids)
        log.repair(ann_dir, f"sequence {task.name}", f"object ids {sorted(all_ids)} skip {missing}; kept "
                   "the ids as they are (renumbering would no longer match the annotation PNGs)")  # fmt: skip
    return video_record(
        task.name,
        height=size[0],
        width=size[1],
        image_paths=[f"{task.name}/{frames[s].name}" for s in stems],
        categories={obj: CATEGORY_ID for obj in all_ids},
        tracks=tracks,
        references=_frame_zero(task, tracks, ann_dir, log),
    )


def _frame_zero(task: SequenceTask, tracks: list[dict], ann_dir: Path, log: ItemLog) -> dict[int, list[int]]:
    """Reference masks: frame 0 only, as the DAVIS semi-supervised protocol gives them. An object absent
    from frame 0 of an evaluation split gets no reference (it would be scored as missed), so say so."""
    later = sorted({int(k) for t in tracks[1:] for k in t} - {int(k) for k in tracks[0]})
    if later and task.split != "train":
        log.repair(ann_dir, f"sequence {task.name}", f"object(s) {later} are absent from frame 0, so they "
                   "get no reference mask (the semi-supervised protocol gives frame 0 only)")  # fmt: skip
    return {0: sorted(int(k) for k in tracks[0])}


def convert(root: Path, split: str, *, workers: int = 2, progress: bool = True, strict: bool = True):
    """DAVIS root + split -> (JSON document, image folder to link, (sequences, frames, objects), log)."""
    root = Path(root)
    names = read_split(root, split)
    tasks = [SequenceTask(root, name, strict, split) for name in names]
    weights = [_count_frames(root, name) for name in names]
    results = parallel_map(convert_sequence, tasks, workers=workers, weights=weights,
                           desc=f"DAVIS {split}", unit="frame", progress=progress)  # fmt: skip
    log = ItemLog()
    for _, task_log in results:
        log.merge(task_log)
    records = [r for r, _ in results if r is not None]
    check_not_empty(len(records), f"DAVIS {split} ({root})", "no sequence could be converted",
                    "see the report for why each was skipped")  # fmt: skip
    doc = {
        "meta": {"category_labels": {str(CATEGORY_ID): CATEGORY_NAME}, "source": f"DAVIS 2017 {split}"},
        "sequences": records,
    }
    counts = (
        len(records),
        sum(len(r["image_paths"]) for r in records),
        sum(len(r["categories"]) for r in records),
    )
    return doc, root / "JPEGImages" / RESOLUTION, counts, log


def _count_frames(root: Path, name: str) -> int:
    folder = root / "JPEGImages" / RESOLUTION / name
    return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 1
