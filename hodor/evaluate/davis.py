"""DAVIS 2017 semi-supervised scoring: the official toolkit's numbers, many times faster.

Per sequence the objects are ids 1..K with K the largest id of the first ground-truth frame (void 255
set to 0 first); frames scored are all ground-truth frames but the first and the last; each scored frame
is read once as an integer label map (ground truth and prediction), scored and dropped, so no video is
ever held in memory. Sequences are scored in parallel worker processes.

Where we differ from the official ``davis2017-evaluation`` on purpose (never in a number it produces for
valid DAVIS input): bad input (missing folder or PNG, other size, RGB PNG, an id above K, unknown set) is
an :class:`InputError` naming the sequence and frame instead of a silent ``sys.exit()``; results are always
recomputed (the official script reuses an existing CSV); decay bin ids are plain integers where the
official code casts them to uint8, which only matters beyond 256 scored frames (no DAVIS sequence has that
many; see :func:`hodor.evaluate.measures.decay_bin_edges`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hodor.errors import InputError
from hodor.evaluate.measures import Statistics, score_frame, statistics
from hodor.evaluate.png import read_label_map
from hodor.parallel import parallel_map

DAVIS_SUBSETS = ("train", "val", "test-dev", "test-challenge")
TASKS = ("semi-supervised",)
VOID_ID = 255
GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


@dataclass(frozen=True)
class SequenceScores:
    """Per-frame scores of one sequence: ``j``/``f`` are [K, n] float64 (object ids 1..K, scored frames)."""

    sequence: str
    frames: list[str]
    j: np.ndarray
    f: np.ndarray

    @property
    def num_objects(self) -> int:
        return int(self.j.shape[0])


@dataclass(frozen=True)
class ObjectResult:
    """Statistics of one object, named ``<sequence>_<object id>`` as in the official CSV."""

    name: str
    sequence: str
    j: Statistics
    f: Statistics


@dataclass(frozen=True)
class DavisResult:
    """Everything a DAVIS evaluation produces; ``global_metrics`` keys are :data:`GLOBAL_COLUMNS`."""

    subset: str
    sequences: list[SequenceScores]
    objects: list[ObjectResult]
    global_metrics: dict[str, float]
    seconds: float = field(default=0.0, compare=False)

    def to_json(self) -> dict:
        """The ``metrics.json`` schema of pipeline.md, full float precision."""
        data: dict = dict(self.global_metrics)
        data["per_object"] = {o.name: {"J-Mean": o.j.mean, "F-Mean": o.f.mean} for o in self.objects}
        return data


def read_sequence_list(davis_root: Path, subset: str) -> list[str]:
    """Sequence names of ``ImageSets/2017/<subset>.txt`` in file order (the official CSV row order)."""
    if subset not in DAVIS_SUBSETS:
        raise InputError(f"unknown DAVIS set {subset!r}; choose one of {', '.join(DAVIS_SUBSETS)}")
    list_file = Path(davis_root) / "ImageSets" / "2017" / f"{subset}.txt"
    if not list_file.is_file():
        raise InputError(
            f"{list_file}: sequence list of set {subset!r} not found; is --davis-root the DAVIS folder "
            "(containing Annotations/480p and ImageSets/2017)?"
        )
    names = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    if not names:
        raise InputError(f"{list_file}: lists no sequence")
    return names


def _read_gt(path: Path, sequence: str, frame: str) -> np.ndarray:
    """[H, W] uint8 ids, void (255) left in place: it is never an object id (those come from the first
    frame with void cleared, so K <= 254), so the per-object masks of scoring treat it as background."""
    return read_label_map(path, f"sequence {sequence}, frame {frame}")


def _read_prediction(path: Path, sequence: str, frame: str, shape: tuple[int, int], k: int) -> np.ndarray:
    if not path.is_file():
        raise InputError(
            f"sequence {sequence}, frame {frame}: prediction {path} is missing; write one indexed PNG per "
            "ground-truth frame (the first and last frames are not scored and may be absent)"
        )
    labels = read_label_map(path, f"sequence {sequence}, frame {frame}")
    if labels.shape != shape:
        raise InputError(
            f"sequence {sequence}, frame {frame}: prediction {path} is {labels.shape[1]}x{labels.shape[0]} "
            f"but the ground truth is {shape[1]}x{shape[0]}; write predictions at the annotation size"
        )
    top = int(labels.max())
    if top > k:
        raise InputError(
            f"sequence {sequence}, frame {frame}: prediction {path} contains id {top} but the sequence has "
            f"only {k} object(s) (ids 1..{k} from its first ground-truth frame; 0 is background)"
        )
    return labels


def score_sequence(gt_dir: Path, pred_dir: Path, sequence: str) -> SequenceScores:
    """Score one sequence; ``gt_dir``/``pred_dir`` hold its ``<frame>.png`` files."""
    gt_paths = sorted(gt_dir.glob("*.png"))
    if len(gt_paths) < 3:
        raise InputError(
            f"sequence {sequence}: {gt_dir} has {len(gt_paths)} annotated frame(s); semi-supervised scoring "
            "skips the first and the last frame, so it needs at least 3"
        )
    if not pred_dir.is_dir():
        raise InputError(f"sequence {sequence}: prediction folder {pred_dir} is missing")
    first = _read_gt(gt_paths[0], sequence, gt_paths[0].stem)
    k = int(np.where(first == VOID_ID, 0, first).max())  # void is background in the semi-supervised task
    scored = gt_paths[1:-1]
    j = np.empty((k, len(scored)), dtype=np.float64)
    f = np.empty((k, len(scored)), dtype=np.float64)
    for index, gt_path in enumerate(scored):
        frame = gt_path.stem
        gt = _read_gt(gt_path, sequence, frame)
        if gt.shape != first.shape:
            raise InputError(f"sequence {sequence}, frame {frame}: {gt_path} differs in size from frame 0")
        pred = _read_prediction(pred_dir / f"{frame}.png", sequence, frame, gt.shape, k)
        j[:, index], f[:, index] = score_frame(gt, pred, k)  # objects 1..k only: void is background
    return SequenceScores(sequence, [p.stem for p in scored], j, f)


def score_sequences(
    gt_root: Path, results_dir: Path, sequences: list[str], *, workers: int = 2, progress: bool = True
) -> list[SequenceScores]:
    """Score sequences (in ``workers`` processes; 1 = in this process), returned in the given order."""
    jobs = [(gt_root / s, results_dir / s, s) for s in sequences]
    costs = [sum(1 for _ in (gt_root / s).glob("*.png")) for s in sequences]
    return parallel_map(
        score_sequence,
        jobs,
        workers=workers,
        desc="DAVIS J&F",
        progress=progress,
        weights=costs,
        star=True,
        unit="video",
        preload=(__name__,),
    )


def summarize(subset: str, sequences: list[SequenceScores], seconds: float = 0.0) -> DavisResult:
    """Per-object statistics and the global figures (each object counts once)."""
    objects = [
        ObjectResult(f"{s.sequence}_{i + 1}", s.sequence, statistics(s.j[i]), statistics(s.f[i]))
        for s in sequences
        for i in range(s.num_objects)
    ]
    if not objects:
        raise InputError("no object to score: every first ground-truth frame is empty")
    j_mean = float(np.mean([o.j.mean for o in objects]))
    f_mean = float(np.mean([o.f.mean for o in objects]))
    metrics = {
        "J&F-Mean": (j_mean + f_mean) / 2.0,
        "J-Mean": j_mean,
        "J-Recall": float(np.mean([o.j.recall for o in objects])),
        "J-Decay": float(np.mean([o.j.decay for o in objects])),
        "F-Mean": f_mean,
        "F-Recall": float(np.mean([o.f.recall for o in objects])),
        "F-Decay": float(np.mean([o.f.decay for o in objects])),
    }
    return DavisResult(subset, sequences, objects, metrics, seconds)


def evaluate_davis(
    davis_root: str | Path,
    results_dir: str | Path,
    subset: str = "val",
    *,
    task: str = "semi-supervised",
    workers: int = 2,
    progress: bool = True,
) -> DavisResult:
    """Score ``results_dir/<seq>/<frame>.png`` against ``davis_root/Annotations/480p`` for one set."""
    start = time.perf_counter()
    if task not in TASKS:
        raise InputError(f"unsupported DAVIS task {task!r}; supported: {', '.join(TASKS)}")
    davis_root, results_dir = Path(davis_root), Path(results_dir)
    sequences = read_sequence_list(davis_root, subset)
    gt_root = davis_root / "Annotations" / "480p"
    if not results_dir.is_dir():
        raise InputError(f"results folder {results_dir} does not exist")
    for sequence in sequences:
        if not (gt_root / sequence).is_dir():
            raise InputError(f"sequence {sequence}: ground-truth folder {gt_root / sequence} is missing")
        if not (results_dir / sequence).is_dir():
            raise InputError(
                f"sequence {sequence}: prediction folder {results_dir / sequence} is missing; --results "
                "must hold one folder of PNGs per sequence of the set"
            )
    scores = score_sequences(gt_root, results_dir, sequences, workers=workers, progress=progress)
    return summarize(subset, scores, time.perf_counter() - start)
