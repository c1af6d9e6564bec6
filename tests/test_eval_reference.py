"""A straightforward, independent reference of the DAVIS J&F definitions (NumPy only) and its self-checks.

Written from davis-metrics.md, frame by frame in float64 like the official toolkit, with no OpenCV and no
SciPy: the disk dilation is a plain loop over the disk's offsets. ``hodor.evaluate`` is tested against
this module (tests/test_eval_davis.py); the tests here check the reference itself on tiny hand cases.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hodor.data.palette import write_label_png


def ref_boundary(seg: np.ndarray) -> np.ndarray:
    """Boundary map, written literally from the definition with shifted copies."""
    s = seg.astype(bool)
    e = np.zeros_like(s)
    so = np.zeros_like(s)
    se = np.zeros_like(s)
    e[:, :-1] = s[:, 1:]
    so[:-1, :] = s[1:, :]
    se[:-1, :-1] = s[1:, 1:]
    b = (s ^ e) | (s ^ so) | (s ^ se)
    b[-1, :] = s[-1, :] ^ e[-1, :]
    b[:, -1] = s[:, -1] ^ so[:, -1]
    b[-1, -1] = False
    return b


def ref_dilate(b: np.ndarray, r: int) -> np.ndarray:
    """Dilation by the disk x^2 + y^2 <= r^2: OR of the shifted map over every offset of the disk."""
    h, w = b.shape
    out = np.zeros_like(b, dtype=bool)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > r * r:
                continue
            # out[y, x] |= b[y + dy, x + dx] where both are inside the image
            ys, yd = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
            xs, xd = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
            out[ys, xs] |= b[yd, xd]
    return out


def ref_j(gt: np.ndarray, pred: np.ndarray) -> float:
    g = gt.astype(np.float64) > 0.5
    p = pred.astype(np.float64) > 0.5
    inter = np.sum(g & p)
    union = np.sum(g | p)
    return 1.0 if union == 0 else float(inter / union)


def ref_f(gt: np.ndarray, pred: np.ndarray) -> float:
    r = int(math.ceil(0.008 * np.linalg.norm(np.array(gt.shape, dtype=np.float64))))
    bg = ref_boundary(gt.astype(np.float64))
    bp = ref_boundary(pred.astype(np.float64))
    n_gt, n_fg = float(bg.sum()), float(bp.sum())
    if n_fg == 0 and n_gt > 0:
        p, rc = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        p, rc = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        p, rc = 1.0, 1.0
    else:
        p = float(np.sum(bp & ref_dilate(bg, r))) / n_fg
        rc = float(np.sum(bg & ref_dilate(bp, r))) / n_gt
    return 0.0 if p + rc == 0 else 2 * p * rc / (p + rc)


def ref_statistics(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, recall, decay) with plain integer bin ids (no uint8 wrap)."""
    mean = float(np.nanmean(values))
    recall = float(np.nanmean(values > 0.5))
    n = len(values)
    ids = [int(round(x + 1e-10)) - 1 for x in np.linspace(1, n, 5)]
    decay = float(np.nanmean(values[ids[0] : ids[1] + 1]) - np.nanmean(values[ids[3] : ids[4] + 1]))
    return mean, recall, decay


def ref_sequence(gt_frames: list[np.ndarray], pred_frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """[K, n] J and F of a sequence from all its ground-truth frames and predictions of frames 1..-2."""
    gts = [np.where(g == 255, 0, g).astype(np.float64) for g in gt_frames]
    k = int(gts[0].max())
    scored = gts[1:-1]
    j = np.zeros((k, len(scored)))
    f = np.zeros((k, len(scored)))
    for t, (g, p) in enumerate(zip(scored, pred_frames, strict=True)):
        p = p.astype(np.float64)
        for obj in range(1, k + 1):
            j[obj - 1, t] = ref_j(g == obj, p == obj)
            f[obj - 1, t] = ref_f(g == obj, p == obj)
    return j, f


def ref_global(per_object: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    js = np.array([ref_statistics(j) for j, _ in per_object])
    fs = np.array([ref_statistics(f) for _, f in per_object])
    jm, fm = js.mean(axis=0), fs.mean(axis=0)
    return {
        "J&F-Mean": (jm[0] + fm[0]) / 2,
        "J-Mean": jm[0],
        "J-Recall": jm[1],
        "J-Decay": jm[2],
        "F-Mean": fm[0],
        "F-Recall": fm[1],
        "F-Decay": fm[2],
    }


# ---- self-checks of the reference on cases small enough to reason about by hand ----


def test_ref_boundary_of_a_square() -> None:
    s = np.zeros((5, 5), dtype=bool)
    s[1:3, 1:3] = True
    # a pixel differing from its right, lower or lower-right neighbour: the 3x3 block up-left-including
    # the square, except the square's inner pixel (1, 1) whose three neighbours are all inside
    expected = np.zeros((5, 5), dtype=bool)
    expected[0:3, 0:3] = True
    expected[1, 1] = False
    assert np.array_equal(ref_boundary(s), expected)


def test_ref_dilate_matches_brute_force_per_pixel() -> None:
    rng = np.random.default_rng(1)
    b = rng.random((9, 11)) < 0.08
    r = 2
    brute = np.zeros_like(b)
    for y in range(9):
        for x in range(11):
            brute[y, x] = any(
                b[yy, xx] for yy in range(9) for xx in range(11) if (yy - y) ** 2 + (xx - x) ** 2 <= r * r
            )
    assert np.array_equal(ref_dilate(b, r), brute)


def test_ref_f_simple_cases() -> None:
    empty = np.zeros((20, 20), dtype=bool)
    square = empty.copy()
    square[5:10, 5:10] = True
    assert ref_f(empty, empty) == 1.0
    assert ref_f(square, empty) == 0.0  # P = 1, R = 0
    assert ref_f(empty, square) == 0.0  # P = 0, R = 1
    assert ref_f(square, square) == 1.0
    assert ref_j(empty, empty) == 1.0 and ref_j(square, empty) == 0.0


def test_ref_statistics_bins_for_three_values() -> None:
    # n = 3: ids = [0, 1, 1, 2, 2]; bin 0 = v[0:2], bin 3 = v[2:3]
    mean, recall, decay = ref_statistics(np.array([1.0, 0.5, 0.2]))
    assert mean == np.mean([1.0, 0.5, 0.2]) and recall == 1 / 3
    assert decay == 0.75 - 0.2


# ---- synthetic data shared by the evaluation tests ----


def random_label_map(rng: np.random.Generator, h: int, w: int, k: int, void: bool = False) -> np.ndarray:
    """[h, w] uint8 map of up to k random ellipses/rectangles (later ids drawn over earlier ones)."""
    labels = np.zeros((h, w), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for obj in range(1, k + 1):
        cy, cx = rng.uniform(-0.1, 1.1) * h, rng.uniform(-0.1, 1.1) * w
        ry, rx = rng.uniform(0.05, 0.5) * h, rng.uniform(0.05, 0.5) * w
        if rng.random() < 0.5:
            shape = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            shape = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
        labels[shape] = obj
    if void:
        band = rng.random((h, w)) < 0.03
        labels[band] = 255
    return labels


def perturb(rng: np.random.Generator, labels: np.ndarray, k: int) -> np.ndarray:
    """An imperfect prediction: shifted, noisy, sometimes an object dropped; void becomes background."""
    pred = np.where(labels == 255, 0, labels)
    dy, dx = rng.integers(-3, 4, size=2)
    pred = np.roll(pred, (int(dy), int(dx)), axis=(0, 1))
    noise = rng.random(pred.shape) < 0.02
    pred[noise] = rng.integers(0, k + 1, size=int(noise.sum()))
    if k and rng.random() < 0.2:
        pred[pred == rng.integers(1, k + 1)] = 0
    return pred.astype(np.uint8)


def write_davis(
    root: Path, sequences: dict[str, tuple[list[np.ndarray], list[np.ndarray]]], subset: str = "val"
) -> tuple[Path, Path]:
    """Write a DAVIS layout (GT frames, ImageSets) and results (predictions of frames 1..-2)."""
    davis, results = root / "DAVIS", root / "results"
    for name, (gts, preds) in sequences.items():
        for t, gt in enumerate(gts):
            write_label_png(davis / "Annotations" / "480p" / name / f"{t:05d}.png", gt)
        for t, pred in enumerate(preds, start=1):
            write_label_png(results / name / f"{t:05d}.png", pred)
    (davis / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
    (davis / "ImageSets" / "2017" / f"{subset}.txt").write_text("".join(f"{s}\n" for s in sequences))
    return davis, results


def random_sequence(
    rng: np.random.Generator, n: int, h: int, w: int, k: int, void: bool = False
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """n ground-truth frames (first frame holds all k objects) and n - 2 predictions."""
    gts = []
    while len(gts) < n:
        frame = random_label_map(rng, h, w, k, void)
        if gts or int(np.where(frame == 255, 0, frame).max()) == k:
            gts.append(frame)
    return gts, [perturb(rng, g, k) for g in gts[1:-1]]
