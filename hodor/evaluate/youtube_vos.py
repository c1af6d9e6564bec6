"""Local YouTube-VOS scoring (J and F over seen / unseen categories, and G) where ground truth exists.

The official scores come from the challenge server; its rules, applied here to a split whose full ground
truth we hold (the synthetic ``valid_gt``, or a user's own split of the real train set):

- objects and their categories come from the split's ``meta.json``; an object is *seen* when its category
  appears in the training split's ``meta.json``, *unseen* otherwise;
- an object is scored on every ground-truth frame after the frame where it first appears (the first
  entry of its ``frames`` list: the frame whose mask the method was given); objects that appear only in
  the last annotated frame have nothing to score and are skipped;
- J and F per frame are the DAVIS definitions (same boundary tolerance rule);
- each object's J and F are the means over its scored frames; J-seen etc. are the means over the objects
  of each group (each object counts once); G is the mean of the four.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hodor.errors import InputError
from hodor.evaluate.measures import score_object, tolerance_radius
from hodor.evaluate.png import read_label_map
from hodor.parallel import parallel_map

GROUP_KEYS = ("J-seen", "F-seen", "J-unseen", "F-unseen")
RELEASED_WITHOUT_GT = ("valid", "test")  # splits whose public Annotations are first-frame masks only


@dataclass(frozen=True)
class VideoObject:
    """One object of the split: its first-appearance frame and category (from the split's meta.json)."""

    object_id: int
    category: str
    first_frame: str


@dataclass(frozen=True)
class ObjectScore:
    video: str
    object_id: int
    category: str
    seen: bool
    frames: int
    j_mean: float
    f_mean: float


@dataclass(frozen=True)
class YouTubeVOSResult:
    """Per-object scores and the five figures ``G, J-seen, F-seen, J-unseen, F-unseen`` (NaN if a group is empty)."""

    split: str
    objects: list[ObjectScore]
    metrics: dict[str, float]
    seconds: float = field(default=0.0, compare=False)

    def to_json(self) -> dict:
        data: dict = {k: (None if math.isnan(v) else v) for k, v in self.metrics.items()}
        data["objects-seen"] = sum(o.seen for o in self.objects)
        data["objects-unseen"] = sum(not o.seen for o in self.objects)
        data["per_object"] = {
            f"{o.video}_{o.object_id}": {
                "category": o.category,
                "seen": o.seen,
                "frames": o.frames,
                "J-Mean": o.j_mean,
                "F-Mean": o.f_mean,
            }
            for o in self.objects
        }
        return data


def youtube_vos_gt(root: Path, split: str) -> Path:
    """Where a split's full ground truth lives: ``<split>_gt/Annotations`` (held back), else, for a split
    carved from the training set, ``<split>/Annotations``. The released ``valid``/``test`` Annotations
    hold first-appearance masks only and are never mistaken for ground truth (the path returned for them
    then does not exist)."""
    held_back = root / f"{split}_gt" / "Annotations"
    if held_back.is_dir() or split in RELEASED_WITHOUT_GT:
        return held_back
    return root / split / "Annotations"


def _load_meta(path: Path) -> dict:
    try:
        meta = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: meta.json not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("videos"), dict):
        raise InputError(f'{path}: expected the YouTube-VOS meta.json layout {{"videos": {{...}}}}')
    return meta


def train_categories(train_meta: Path) -> set[str]:
    """Every category named in the training split's meta.json (what makes a category *seen*)."""
    meta = _load_meta(train_meta)
    return {
        obj["category"]
        for video in meta["videos"].values()
        for obj in video.get("objects", {}).values()
        if "category" in obj
    }


def split_objects(split_meta: Path) -> dict[str, list[VideoObject]]:
    """video id -> its objects, from the split's meta.json (category and first-appearance frame)."""
    meta = _load_meta(split_meta)
    videos: dict[str, list[VideoObject]] = {}
    for vid, video in meta["videos"].items():
        objects = []
        for key, obj in video.get("objects", {}).items():
            if "category" not in obj:
                raise InputError(
                    f"{split_meta}: video {vid}, object {key} has no category (needed for seen/unseen)"
                )
            if not obj.get("frames"):
                raise InputError(f"{split_meta}: video {vid}, object {key} lists no frame")
            objects.append(VideoObject(int(key), obj["category"], min(obj["frames"])))
        videos[vid] = sorted(objects, key=lambda o: o.object_id)
    return videos


def score_video(
    gt_dir: Path, pred_dir: Path, video: str, objects: list[VideoObject]
) -> list[tuple[int, int, float, float]]:
    """(object id, scored frames, J mean, F mean) for each object of one video."""
    if not gt_dir.is_dir():
        raise InputError(f"video {video}: ground-truth folder {gt_dir} is missing")
    if not pred_dir.is_dir():
        raise InputError(f"video {video}: prediction folder {pred_dir} is missing")
    frames = sorted(p.stem for p in gt_dir.glob("*.png"))
    valid_ids = {o.object_id for o in objects}
    sums = {o.object_id: [0, 0.0, 0.0] for o in objects}
    for frame in frames:
        scored = [o for o in objects if frame > o.first_frame]
        if not scored:
            continue
        gt = read_label_map(gt_dir / f"{frame}.png", f"video {video}, frame {frame}")
        pred_path = pred_dir / f"{frame}.png"
        if not pred_path.is_file():
            raise InputError(f"video {video}, frame {frame}: prediction {pred_path} is missing")
        pred = read_label_map(pred_path, f"video {video}, frame {frame}")
        if pred.shape != gt.shape:
            raise InputError(
                f"video {video}, frame {frame}: prediction {pred_path} is {pred.shape[1]}x{pred.shape[0]} but "
                f"the ground truth is {gt.shape[1]}x{gt.shape[0]}; write predictions at the annotation size"
            )
        present = np.flatnonzero(np.bincount(pred.ravel(), minlength=256))  # cheaper than np.unique
        extra = sorted(set(present.tolist()) - valid_ids - {0})
        if extra:
            raise InputError(
                f"video {video}, frame {frame}: prediction {pred_path} contains id {extra[0]}, which is not an "
                f"object of this video (objects: {sorted(valid_ids)})"
            )
        radius = tolerance_radius(*gt.shape)
        for obj in scored:
            j, f = score_object(gt == obj.object_id, pred == obj.object_id, radius)
            entry = sums[obj.object_id]
            entry[0] += 1
            entry[1] += j
            entry[2] += f
    return [(o.object_id, int(sums[o.object_id][0]), *_means(sums[o.object_id])) for o in objects]


def _means(entry: list) -> tuple[float, float]:
    n = entry[0]
    return (entry[1] / n, entry[2] / n) if n else (math.nan, math.nan)


def _group_mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def evaluate_youtube_vos(
    gt_annotations: str | Path,
    split_meta: str | Path,
    train_meta: str | Path,
    results: str | Path,
    *,
    split: str = "valid",
    workers: int = 2,
    progress: bool = True,
) -> YouTubeVOSResult:
    """Score ``results/[Annotations/]<video>/<frame>.png`` against ``gt_annotations/<video>/<frame>.png``."""
    start = time.perf_counter()
    results = Path(results)
    if (results / "Annotations").is_dir():
        results = results / "Annotations"  # the layout of a submission
    if not results.is_dir():
        raise InputError(f"results folder {results} does not exist")
    seen_categories = train_categories(Path(train_meta))
    videos = split_objects(Path(split_meta))
    jobs = [(Path(gt_annotations) / v, results / v, v, objs) for v, objs in videos.items() if objs]
    costs = [len(objs) * sum(1 for _ in gt.glob("*.png")) for gt, _, _, objs in jobs]
    per_video = parallel_map(
        score_video,
        jobs,
        workers=workers,
        desc="YouTube-VOS J&F",
        progress=progress,
        weights=costs,
        star=True,
        unit="video",
    )
    scores = []
    for (_, _, vid, objs), rows in zip(jobs, per_video, strict=True):
        for obj, (_, n, j, f) in zip(objs, rows, strict=True):
            if n:
                seen = obj.category in seen_categories
                scores.append(ObjectScore(vid, obj.object_id, obj.category, seen, n, j, f))
    if not scores:
        raise InputError(f"{split_meta}: no object has a frame to score after its first appearance")
    metrics = {
        "J-seen": _group_mean([o.j_mean for o in scores if o.seen]),
        "F-seen": _group_mean([o.f_mean for o in scores if o.seen]),
        "J-unseen": _group_mean([o.j_mean for o in scores if not o.seen]),
        "F-unseen": _group_mean([o.f_mean for o in scores if not o.seen]),
    }
    present = [v for v in metrics.values() if not math.isnan(v)]
    g = float(np.mean(present)) if len(present) == 4 else math.nan
    return YouTubeVOSResult(split, scores, {"G": g, **metrics}, time.perf_counter() - start)
