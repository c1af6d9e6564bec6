"""DAVIS J&F scoring speed: hodor.evaluate against a per-frame float64 scorer built like the official one.

Builds a DAVIS-val-sized synthetic set (30 sequences, 854x480, about 2,000 frames, 1-5 moving objects,
imperfect predictions: shifted, eroded/dilated, with spurious blobs and lost objects) in a temporary
folder, then times, in the same run:

- the baseline: the official toolkit's structure, written here from its algorithm (PIL reads into
  whole-video float64 arrays, void maps, one-hot masks per object, J per object over all frames, F frame
  by frame with full-frame boundary maps and full-frame OpenCV dilations, one process);
- ``hodor.evaluate.evaluate_davis`` with 2 worker processes, before and after the baseline (median), and
  once in a single process for its CPU time.

It checks that every per-frame figure agrees (to 1e-12) and prints wall-clock and CPU times and their
ratios. The machine is shared: other users' processes slow both scorers (our two workers more, since
they need both cores), so the CPU-time ratio is the load-independent figure.
Usage: ``python benchmarks/davis_eval.py [--sequences 30] [--workers 2] [--repeat 3] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hodor.data.palette import davis_palette
from hodor.evaluate import evaluate_davis

H, W = 480, 854


def _save(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels, mode="P")
    image.putpalette(davis_palette().reshape(-1).tolist())
    image.save(path)


def _draw(rng: np.random.Generator, objects: list[dict], t: int) -> np.ndarray:
    labels = np.zeros((H, W), dtype=np.uint8)
    for obj in objects:
        cx, cy = obj["c"] + obj["v"] * t
        angle = obj["angle"] + obj["spin"] * t
        axes = (int(obj["axes"][0] * (1 + 0.2 * math.sin(t / 9))), int(obj["axes"][1]))
        cv2.ellipse(labels, (int(cx), int(cy)), axes, angle, 0, 360, int(obj["id"]), -1)
        if obj["limb"]:
            cv2.rectangle(labels, (int(cx), int(cy)), (int(cx + 60), int(cy + 25)), int(obj["id"]), -1)
    return labels


def _imperfect(rng: np.random.Generator, gt: np.ndarray, k: int) -> np.ndarray:
    pred = np.zeros_like(gt)
    for obj in range(1, k + 1):
        mask = (gt == obj).astype(np.uint8)
        if rng.random() < 0.05:
            continue  # object lost in this frame
        size = int(rng.integers(1, 6))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
        dx, dy = rng.integers(-4, 5, size=2)
        mask = np.roll(mask, (int(dy), int(dx)), axis=(0, 1))
        pred[mask > 0] = obj
    for _ in range(int(rng.integers(0, 3))):  # spurious blobs
        cv2.circle(pred, (int(rng.integers(0, W)), int(rng.integers(0, H))), int(rng.integers(3, 15)),
                   int(rng.integers(0, k + 1)), -1)  # fmt: skip
    return pred


def build_dataset(root: Path, num_sequences: int, seed: int = 0) -> int:
    """Write DAVIS/ and results/ under root; returns the number of frames."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(45, 90, size=num_sequences)
    lengths = np.round(lengths * (2000 / max(lengths.sum(), 1) * num_sequences / 30)).astype(int)
    names = []
    for s, n in enumerate(lengths):
        name = f"seq{s:02d}"
        names.append(name)
        k = int(rng.integers(1, 6))
        objects = [
            {
                "id": i + 1,
                "c": rng.uniform([100, 80], [W - 100, H - 80]),
                "v": rng.uniform(-2, 2, size=2),
                "axes": rng.uniform([20, 15], [140, 90]),
                "angle": rng.uniform(0, 180),
                "spin": rng.uniform(-1, 1),
                "limb": bool(rng.random() < 0.5),
            }
            for i in range(k)
        ]
        for t in range(int(n)):
            gt = _draw(rng, objects, t)
            if rng.random() < 0.3:
                cv2.line(gt, (0, int(rng.integers(0, H))), (W - 1, int(rng.integers(0, H))), 255, 2)  # void
            _save(root / "DAVIS" / "Annotations" / "480p" / name / f"{t:05d}.png", gt)
            if 0 < t < n - 1:
                _save(
                    root / "results" / name / f"{t:05d}.png", _imperfect(rng, np.where(gt == 255, 0, gt), k)
                )
    sets = root / "DAVIS" / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "val.txt").write_text("".join(f"{n}\n" for n in names))
    return int(lengths.sum())


# ---- baseline: the official toolkit's structure, float64 and frame by frame ----


def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def _disk(radius: float) -> np.ndarray:
    r = int(radius)
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return (x * x + y * y <= r * r).astype(np.uint8)


def _f_measure(fg: np.ndarray, gt: np.ndarray) -> float:
    void = np.zeros_like(fg).astype(bool)  # the official call passes no void mask: all-False, still applied
    bound_pix = np.ceil(0.008 * np.linalg.norm(fg.shape))
    fg_b, gt_b = _seg2bmap(fg * np.logical_not(void)), _seg2bmap(gt * np.logical_not(void))
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), _disk(bound_pix))
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), _disk(bound_pix))
    gt_match, fg_match = gt_b * fg_dil, fg_b * gt_dil
    n_fg, n_gt = np.sum(fg_b), np.sum(gt_b)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1, 0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0, 1
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1, 1
    else:
        precision, recall = np.sum(fg_match) / float(n_fg), np.sum(gt_match) / float(n_gt)
    return 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _iou(gt: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """[n] J of one object over all its frames at once, as the official ``db_eval_iou``."""
    gt, seg = gt.astype(bool), seg.astype(bool)
    void = np.zeros_like(seg)
    inter = np.sum((seg & gt) & np.logical_not(void), axis=(-2, -1))
    union = np.sum((seg | gt) & np.logical_not(void), axis=(-2, -1))
    j = inter / union
    j[np.isclose(union, 0)] = 1
    return j


def _one_hot(masks: np.ndarray, k: int) -> np.ndarray:
    ids = np.arange(1, k + 1)[:, None, None, None] * np.ones((k, *masks.shape))
    return (ids == masks[None]) > 0


def _read_all(paths: list[Path]) -> np.ndarray:
    masks = np.zeros((len(paths), H, W))
    for i, p in enumerate(paths):
        masks[i] = np.array(Image.open(p))
    return masks


def baseline_sequence(gt_dir: Path, pred_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """[K, n] J and F the way the official toolkit computes them (whole-video float64 arrays)."""
    paths = sorted(gt_dir.glob("*.png"))
    masks = _read_all(paths)
    masks_void = np.zeros_like(masks)
    for k in range(masks.shape[0]):
        masks_void[k] = masks[k] == 255
        masks[k, masks[k] == 255] = 0
    gt = _one_hot(masks, int(np.max(masks[0])))[:, 1:-1]
    res = _read_all([pred_dir / p.name for p in paths[1:-1]])
    pred = _one_hot(res, int(np.max(res)))
    if pred.shape[0] < gt.shape[0]:
        pred = np.concatenate([pred, np.zeros((gt.shape[0] - pred.shape[0], *pred.shape[1:]))])
    j, f = np.zeros(gt.shape[:2]), np.zeros(gt.shape[:2])
    for o in range(gt.shape[0]):
        j[o] = _iou(gt[o], pred[o])
        for t in range(gt.shape[1]):
            f[o, t] = _f_measure(pred[o, t], gt[o, t])
    return j, f


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_baseline(root: Path, names: list[str]) -> tuple[list[tuple[np.ndarray, np.ndarray]], float, float]:
    """Per-sequence (J, F) arrays of the official-like scorer, its wall time and its CPU time."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    scores = [baseline_sequence(root / "DAVIS/Annotations/480p" / n, root / "results" / n) for n in names]
    return scores, time.perf_counter() - t0, cpu_seconds() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast scorer (median reported)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the data set here instead of a temp dir")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="hodor-davis-bench-"))
    try:
        if not (root / "DAVIS" / "ImageSets" / "2017" / "val.txt").exists():
            t0 = time.perf_counter()
            frames = build_dataset(root, args.sequences)
            print(
                f"built {args.sequences} sequences, {frames} frames of {W}x{H} in {time.perf_counter() - t0:.1f} s"
            )
        names = (root / "DAVIS" / "ImageSets" / "2017" / "val.txt").read_text().split()
        # fast runs before and after the baseline, so that machine load from others hits both alike
        times, ours = [], None
        for run in range(max(args.repeat, 1)):
            if run == min(1, args.repeat - 1):
                base, slow, slow_cpu = run_baseline(root, names)
            t0 = time.perf_counter()
            ours = evaluate_davis(
                root / "DAVIS", root / "results", "val", workers=args.workers, progress=False
            )
            times.append(time.perf_counter() - t0)
        fast = float(np.median(times))
        # CPU work is measured in one process: pool workers come from a forkserver, so they are not
        # this process's children and their CPU time is invisible to getrusage.
        c0 = cpu_seconds()
        evaluate_davis(root / "DAVIS", root / "results", "val", workers=1, progress=False)
        fast_cpu = cpu_seconds() - c0
        worst = max(
            max(np.abs(s.j - bj).max(), np.abs(s.f - bf).max())
            for s, (bj, bf) in zip(ours.sequences, base, strict=True)
        )
        objects = sum(s.num_objects for s in ours.sequences)
        frames = sum(len(s.frames) for s in ours.sequences)
        print(f"scored {len(names)} sequences, {objects} objects, {frames} frames")
        print(f"J&F-Mean {ours.global_metrics['J&F-Mean']:.6f}; largest per-frame difference {worst:.1e}")
        print(f"baseline (official-like, float64, 1 process): {slow:.2f} s wall, {slow_cpu:.2f} s CPU")
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"hodor.evaluate ({args.workers} workers): {fast:.2f} s wall (median of {runs}); "
            f"in 1 process: {fast_cpu:.2f} s CPU"
        )
        print(f"speed-up: {slow / fast:.1f}x wall clock; {slow_cpu / fast_cpu:.1f}x less CPU work")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (other users' processes slow both)")
        return 0 if worst <= 1e-12 else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
