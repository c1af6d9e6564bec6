"""The DAVIS J and F measures and their per-object statistics, computed fast and exactly.

Definitions (../shared/design/davis-metrics.md, identical to the official ``davis2017-evaluation``):

- J = |P ∩ G| / |P ∪ G|, 1 when the union is empty.
- F: boundary maps of both masks, each dilated by a disk of radius ``ceil(0.008 * diag)``; precision =
  share of predicted boundary pixels within the dilated true boundary, recall the converse, F their
  harmonic mean (0 when both are 0), with the official conventions for empty boundaries.

Speed without changing a single bit of the result: masks are compared on integer label maps, every
figure is an integer pixel count divided exactly as the official code does, and the boundary maps and
their dilations are computed only inside the bounding box of the object in either mask (grown by one
pixel). That crop is exact: a boundary pixel lies at most one pixel up/left of its mask, the one-pixel
margin makes the crop's last row/column rules coincide with the full frame's, and a dilation evaluated
at pixels of the crop only needs boundary pixels of the crop (OpenCV's default dilation border adds
nothing). The disk dilation itself is bracketed by two cheap square dilations (:func:`_count_within`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

BOUNDARY_THRESHOLD = 0.008  # fraction of the image diagonal (official ``bound_th``)


def tolerance_radius(height: int, width: int, bound_th: float = BOUNDARY_THRESHOLD) -> int:
    """Boundary tolerance in pixels: ``ceil(bound_th * sqrt(H^2 + W^2))`` (8 at 480x854)."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(height, width)))


@lru_cache(maxsize=16)
def disk(radius: int) -> np.ndarray:
    """[2r+1, 2r+1] uint8 disk: the pixels with x^2 + y^2 <= r^2 (skimage ``disk``, strict radius)."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """[H, W] bool boundary of an [H, W] bool mask (the official ``_seg2bmap`` rule).

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour; on the
    last row only the right neighbour counts, on the last column only the lower one, and the bottom-right
    pixel is never a boundary pixel.
    """
    b = np.empty_like(mask, dtype=bool)
    core = mask[:-1, :-1]
    b[:-1, :-1] = (core != mask[:-1, 1:]) | (core != mask[1:, :-1]) | (core != mask[1:, 1:])
    b[-1, :-1] = mask[-1, :-1] != mask[-1, 1:]
    b[:-1, -1] = mask[:-1, -1] != mask[1:, -1]
    b[-1, -1] = False
    return b


@lru_cache(maxsize=16)
def _squares_and_ring(radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kernels of the largest square inside the disk and of the square around it, and the ring offsets.

    The inner square has half-width ``a = isqrt(r^2 // 2)`` (the largest with 2a^2 <= r^2, 5 for r = 8),
    the outer one half-width r; the ring is the disk's (dy, dx) offsets outside the inner square
    (76 of its 197 for r = 8), as two [n] int64 arrays.
    """
    a = math.isqrt(radius * radius // 2)
    inner = np.ones((2 * a + 1, 2 * a + 1), dtype=np.uint8)
    outer = np.ones((2 * radius + 1, 2 * radius + 1), dtype=np.uint8)
    dy, dx = np.nonzero(disk(radius))
    dy, dx = dy - radius, dx - radius
    ring = (np.abs(dy) > a) | (np.abs(dx) > a)
    return inner, outer, dy[ring], dx[ring]


def _count_within(points: np.ndarray, target: np.ndarray, radius: int) -> int:
    """|points ∩ dilate(target, disk(radius))| for two [h, w] bool maps of the same crop, exactly.

    A disk dilation costs one max per pixel and disk offset (197 at r = 8); two square dilations are
    separable and bracket it: a point within the inner square of a target pixel is within the disk, a
    point outside the outer square is not. Only the few points in between (about 1% of boundary pixels
    on DAVIS-like data) are checked against the ring offsets one by one; where they are many, the disk
    dilation is used instead. Both paths give the same count.
    """
    inner, outer, ring_dy, ring_dx = _squares_and_ring(radius)
    t = target.view(np.uint8)
    sure = points & cv2.dilate(t, inner).view(bool)
    undecided = points ^ sure  # points not within the inner square of any target pixel
    undecided &= cv2.dilate(t, outer).view(bool)
    count = int(np.count_nonzero(sure))
    n_undecided = int(np.count_nonzero(undecided))
    if n_undecided == 0:
        return count
    if n_undecided * ring_dy.size > target.size:  # many undecided points: one disk dilation is cheaper
        return int(np.count_nonzero(points & cv2.dilate(t, disk(radius)).view(bool)))
    found = cv2.findNonZero(undecided.view(np.uint8)).reshape(-1, 2)  # (x, y) int32 pairs
    xs, ys = found[:, 0] + radius, found[:, 1] + radius
    padded = np.pad(target, radius)  # False outside the crop, as OpenCV's dilation border
    hits = padded[ys[:, None] + ring_dy, xs[:, None] + ring_dx].any(axis=1)
    return count + int(np.count_nonzero(hits))


def _f_from_boundaries(bp: np.ndarray, bg: np.ndarray, radius: int) -> float:
    """F of two [h, w] bool boundary maps of the same crop."""
    n_fg = int(np.count_nonzero(bp))
    n_gt = int(np.count_nonzero(bg))
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = _count_within(bp, bg, radius) / float(n_fg)
        recall = _count_within(bg, bp, radius) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def score_object(gt: np.ndarray, pred: np.ndarray, radius: int) -> tuple[float, float]:
    """(J, F) of one object given its [H, W] bool masks in the ground truth and the prediction."""
    union_rows = np.flatnonzero(gt.any(axis=1) | pred.any(axis=1))
    if union_rows.size == 0:
        return 1.0, 1.0  # absent on both sides: J = 1 (empty union), F = 1 (no boundary on either side)
    h, w = gt.shape
    y0, y1 = max(int(union_rows[0]) - 1, 0), min(int(union_rows[-1]) + 2, h)
    # columns searched only within the rows found (a column reduction over the full frame is the slow one)
    union_cols = np.flatnonzero(gt[y0:y1].any(axis=0) | pred[y0:y1].any(axis=0))
    x0, x1 = max(int(union_cols[0]) - 1, 0), min(int(union_cols[-1]) + 2, w)
    g = gt[y0:y1, x0:x1]
    p = pred[y0:y1, x0:x1]
    inter = int(np.count_nonzero(g & p))
    union = int(np.count_nonzero(g)) + int(np.count_nonzero(p)) - inter
    j = inter / union
    f = _f_from_boundaries(boundary_map(p), boundary_map(g), radius)
    return j, f


def score_frame(gt: np.ndarray, pred: np.ndarray, num_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """J and F of objects 1..K in one frame.

    gt, pred: [H, W] uint8 label maps; any id above K in gt (void, 255) is background for every object.
    Returns two [K] float64 arrays.
    """
    radius = tolerance_radius(*gt.shape)
    j = np.empty(num_objects, dtype=np.float64)
    f = np.empty(num_objects, dtype=np.float64)
    for index in range(num_objects):
        j[index], f[index] = score_object(gt == index + 1, pred == index + 1, radius)
    return j, f


@dataclass(frozen=True)
class Statistics:
    """Mean, recall (share of frames > 0.5) and decay of one object's per-frame values."""

    mean: float
    recall: float
    decay: float


def decay_bin_edges(num_frames: int, num_bins: int = 4) -> np.ndarray:
    """[num_bins + 1] int64 frame indices: ``round(linspace(1, n, bins + 1) + 1e-10) - 1``.

    The official code casts these to uint8, which wraps for more than 256 scored frames; we keep them
    as integers (identical for every DAVIS sequence, correct for longer ones).
    """
    return (np.round(np.linspace(1, num_frames, num_bins + 1) + 1e-10) - 1).astype(np.int64)


def statistics(values: np.ndarray) -> Statistics:
    """Statistics of [n] per-frame values (NaNs ignored in the means, as in the official code)."""
    mean = float(np.nanmean(values))
    recall = float(np.nanmean(values > 0.5))
    ids = decay_bin_edges(len(values))
    first = values[ids[0] : ids[1] + 1]  # bins include both edge frames, as the official slices do
    last = values[ids[3] : ids[4] + 1]
    decay = float(np.nanmean(first) - np.nanmean(last))
    return Statistics(mean, recall, decay)
