"""Training samples per regime (hodor-training.md §5): sample ``i`` is a pure function of ``(seed, i)``.

A sample spec says which image/video, which frames and which objects; the pixels are produced later by
:mod:`hodor.data.train_samples_loader`. Nothing is precomputed per sample: the usable candidates (an image,
or a video's reference frame, with its valid objects) are kept in compact numpy arrays, and sample ``i`` is
drawn from them by index. So memory does not grow with the number of iterations, a run extended to more
iterations continues the same sequence, and every process of a distributed run sees the same samples.

Rules, as the official sample lists (and as before, in a different order): the samples are split equally
between the instance counts k = I..1 (sample ``i`` of a dataset takes count ``counts[i % len(counts)]``);
count k cycles through a shuffled pool of the candidates having at least k objects (reshuffled each pass);
k of the candidate's valid objects are taken at random. Video datasets share the samples by
``youtube_vos_fraction`` exactly in every prefix of the sequence (interleaved, not one block after another).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from hodor.data.standard_json import ImageDataset, VideoDataset, VideoSequence
from hodor.errors import InputError
from hodor.train.params import TrainParams

_PERMUTATIONS_CACHED = 16  # pool passes kept per process (one per count and dataset is what is in use)


@dataclass(frozen=True)
class SampleSpec:
    """``source``: dataset index in the list given to the plan; ``item``: image/sequence index;
    ``frames``: [reference, others...] frame indices (static: empty); ``objects``: object ids (video) or
    object indices (static), painted as 1..k in this order; ``aspect``: h / w of the source."""

    source: int
    item: int
    frames: tuple[int, ...]
    objects: tuple[int, ...]
    aspect: float


@dataclass(frozen=True)
class Candidates:
    """Usable references of one dataset, as flat arrays (no per-candidate Python objects).

    ``item`` [N] image/sequence index; ``ref`` [N] reference frame (-1 for images); ``objects`` [M] valid
    object indices/ids of all candidates, candidate n owning ``objects[offsets[n]:offsets[n + 1]]``;
    ``aspect`` [N] h / w; ``pools[k]``: candidate indices with at least k objects (k = 1..I, non-empty).
    """

    item: np.ndarray
    ref: np.ndarray
    offsets: np.ndarray
    objects: np.ndarray
    aspect: np.ndarray
    pools: dict[int, np.ndarray]

    @classmethod
    def build(cls, rows: list[tuple[int, int, list[int], float]], num_instances: int) -> Candidates:
        """From (item, ref, valid objects, aspect) rows (only while building; the rows are dropped after)."""
        counts = np.array([len(r[2]) for r in rows], dtype=np.int64)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        pools = {k: np.flatnonzero(counts >= k).astype(np.int32) for k in range(num_instances, 0, -1)}
        return cls(
            item=np.array([r[0] for r in rows], dtype=np.int32),
            ref=np.array([r[1] for r in rows], dtype=np.int32),
            offsets=offsets,
            objects=np.array([o for r in rows for o in r[2]], dtype=np.int32),
            aspect=np.array([r[3] for r in rows], dtype=np.float64),
            pools={k: p for k, p in pools.items() if len(p)},
        )

    def objects_of(self, n: int) -> np.ndarray:
        return self.objects[self.offsets[n] : self.offsets[n + 1]]


def static_candidates(dataset: ImageDataset, params: TrainParams) -> Candidates:
    """COCO: every image with an object of area > min area and min box side > min dim (strict, official)."""
    images = dataset.images
    valid = (images.object_areas > params.min_ref_mask_area) & (
        images.object_bboxes[:, 2:].min(axis=1, initial=np.inf) > params.min_ref_mask_dim
    )
    rows = []
    for index in range(len(images)):
        start, stop = images.object_offsets[index], images.object_offsets[index + 1]
        objects = np.flatnonzero(valid[start:stop]).tolist()
        if objects:
            rows.append((index, -1, objects, images.heights[index] / images.widths[index]))
    if not rows:
        raise InputError(
            f"dataset {dataset.name!r}: no image has an object with area > {params.min_ref_mask_area} px and "
            f"box sides > {params.min_ref_mask_dim} px; lower min_ref_mask_area/min_ref_mask_dim or check the JSON"
        )
    return Candidates.build(rows, params.num_instances)


def valid_objects(seq: VideoSequence, frame: int, params: TrainParams, boxes: dict) -> list[int]:
    """Object ids of ``frame`` with area >= min area and min box side >= min dim (video filter)."""
    out = []
    for obj in sorted(seq.tracks[frame]):
        area, box = boxes[(seq.id, frame, obj)]
        if area >= params.min_ref_mask_area and min(box[2], box[3]) >= params.min_ref_mask_dim:
            out.append(obj)
    return out


def _mask_stats(seq: VideoSequence, frames: list[int]) -> dict:
    """(area, [x, y, w, h]) per (sequence, frame, object), straight from the RLE (no decoding)."""
    from pycocotools import mask as mask_utils

    stats = {}
    for t in frames:
        for obj, counts in seq.tracks[t].items():
            rle = {"size": [seq.height, seq.width], "counts": counts.encode("utf-8")}
            stats[(seq.id, t, obj)] = (int(mask_utils.area(rle)), [float(v) for v in mask_utils.toBbox(rle)])
    return stats


def middle_reference(annotated: list[int], length: int) -> int:
    """The annotated frame nearest to the middle of the video (what the paper and the official comment
    intend; the official code compares with ``length`` and so picks the LAST annotated frame)."""
    return min(annotated, key=lambda t: (abs(t - length / 2), t))


def sparse_candidates(dataset: VideoDataset, params: TrainParams) -> Candidates | None:
    """One reference per video (the middle annotated frame with a valid object). None if no video fits."""
    rows = []
    for item, seq in enumerate(dataset.sequences):
        if len(seq) <= params.num_other_frames:
            continue
        stats = _mask_stats(seq, seq.annotated_frames())
        annotated = [t for t in seq.annotated_frames() if valid_objects(seq, t, params, stats)]
        if annotated:
            ref = middle_reference(annotated, len(seq))
            rows.append((item, ref, valid_objects(seq, ref, params, stats), seq.height / seq.width))
    return Candidates.build(rows, params.num_instances) if rows else None


def dense_candidates(dataset: VideoDataset, params: TrainParams, max_delta: int) -> Candidates | None:
    """Every annotated frame with room for the other frames after it and at least one valid object.

    Clips are built from the annotated frames only (YouTube-VOS annotates every 5th frame; an unannotated
    frame has no ground truth for a dense loss), so a "frame" below is a position in that list. Videos
    need more than ``num_other_frames + min_clip_delta`` annotated frames.
    """
    rows = []
    k = params.num_other_frames
    for item, seq in enumerate(dataset.sequences):
        frames = seq.annotated_frames()
        if len(frames) <= k + params.min_clip_delta:
            continue
        stats = _mask_stats(seq, frames)
        for pos, t in enumerate(frames):
            if pos >= len(frames) - k - 1 or len(range(pos + 1, min(len(frames), pos + max_delta))) < k:
                continue
            objects = valid_objects(seq, t, params, stats)
            if objects:
                rows.append((item, t, objects, seq.height / seq.width))
    return Candidates.build(rows, params.num_instances) if rows else None


def split_index(i: int, shares: list[float]) -> tuple[int, int]:
    """Global sample ``i`` -> (dataset, index among that dataset's samples).

    Dataset 0 takes sample i when floor((i + 1) s0) > floor(i s0), so any prefix of n samples holds
    floor(n s0) of them (exact shares in every prefix); the rest are split the same way among the others.
    """
    remaining = 1.0
    for source, share in enumerate(shares[:-1]):
        fraction = min(1.0, share / remaining) if remaining > 0 else 0.0
        before, after = math.floor(i * fraction), math.floor((i + 1) * fraction)
        if after > before:
            return source, before
        i -= after
        remaining -= share
    return len(shares) - 1, i


class SamplePlan:
    """Sample ``i`` -> :class:`SampleSpec`, a pure function of ``(sample_seed, i)``.

    ``candidates``: one :class:`Candidates` per dataset (None for a dataset with share 0 or nothing
    usable); ``regime``: static / sparse / dense (how the other frames are chosen).
    """

    def __init__(
        self,
        regime: str,
        sources: list[ImageDataset] | list[VideoDataset],
        candidates: list[Candidates | None],
        shares: list[float],
        params: TrainParams,
    ) -> None:
        self.regime, self.sources, self.candidates, self.shares = regime, sources, candidates, shares
        self.params = params
        self._permutations: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()

    def spec(self, i: int) -> SampleSpec:
        source, j = split_index(i, self.shares)
        cands = self.candidates[source]
        assert cands is not None, "a dataset with a share > 0 has candidates (checked when planning)"
        counts = list(cands.pools)  # largest first
        k = counts[j % len(counts)]
        draw = j // len(counts)
        pool = cands.pools[k]
        n = int(pool[self._permutation(source, k, draw // len(pool))[draw % len(pool)]])
        rng = np.random.default_rng([self.params.sample_seed, 1, i])
        objects = tuple(sorted(int(o) for o in rng.choice(cands.objects_of(n), k, replace=False)))
        item, ref = int(cands.item[n]), int(cands.ref[n])
        if self.regime == "static":
            frames: tuple[int, ...] = ()
        elif self.regime == "dense":
            frames = (ref, *self._dense_others(rng, source, item, ref))
        else:
            frames = (ref, *self._sparse_others(rng, source, item, ref))
        return SampleSpec(source, item, frames, objects, float(cands.aspect[n]))

    def _permutation(self, source: int, k: int, epoch: int) -> np.ndarray:
        """Order of pass ``epoch`` through pool k of ``source`` (a few cached: consecutive samples share it)."""
        key = (source, k, epoch)
        if key not in self._permutations:
            pool = self.candidates[source].pools[k]
            rng = np.random.default_rng([self.params.sample_seed, 0, source, k, epoch])
            self._permutations[key] = rng.permutation(len(pool)).astype(np.int32)
            if len(self._permutations) > _PERMUTATIONS_CACHED:
                self._permutations.popitem(last=False)
        return self._permutations[key]

    def _max_delta(self, source: int) -> int:
        return self.params.max_clip_delta * (2 if source == 1 else 1)  # DAVIS (second): twice, as official

    def _dense_others(self, rng: np.random.Generator, source: int, item: int, ref: int) -> list[int]:
        """Positions after the reference in the annotated-frame list, forward only, sorted."""
        frames = self.sources[source].sequences[item].annotated_frames()
        pos = frames.index(ref)
        window = np.arange(pos + 1, min(len(frames), pos + self._max_delta(source)))
        return [frames[p] for p in sorted(rng.choice(window, self.params.num_other_frames, replace=False))]

    def _sparse_others(self, rng: np.random.Generator, source: int, item: int, ref: int) -> list[int]:
        """From the frames just before or just after the reference (a side with room), not sorted."""
        length, k, delta = (
            len(self.sources[source].sequences[item]),
            self.params.num_other_frames,
            self._max_delta(source),
        )
        before = list(range(max(0, ref - delta), ref))
        after = list(range(ref + 1, min(length, ref + delta + 1)))
        sides = [s for s in (before, after) if len(s) >= k]
        side = sides[int(rng.integers(len(sides)))] if sides else before + after
        return [int(t) for t in rng.choice(side, k, replace=False)]  # not sorted, as the official code


def plan_samples(
    regime: str, sources: list[ImageDataset] | list[VideoDataset], shares: list[float], params: TrainParams
) -> SamplePlan:
    """Candidates of every dataset with a share > 0 -> the plan; InputError if one has no usable sample."""
    candidates: list[Candidates | None] = []
    for source, (dataset, share) in enumerate(zip(sources, shares, strict=True)):
        if share <= 0:
            candidates.append(None)
        elif regime == "static":
            candidates.append(static_candidates(dataset, params))
        else:
            max_delta = params.max_clip_delta * (2 if source == 1 else 1)
            found = (
                dense_candidates(dataset, params, max_delta)
                if regime == "dense"
                else sparse_candidates(dataset, params)
            )
            if found is None:
                dense = regime == "dense"
                raise InputError(
                    f"dataset {dataset.name!r}: no usable {'dense' if dense else 'sparse'} training sample (need "
                    f"videos with > {params.num_other_frames} frames and an object of area >= "
                    f"{params.min_ref_mask_area} px, box sides >= {params.min_ref_mask_dim} px)"
                )
            candidates.append(found)
    return SamplePlan(regime, sources, candidates, shares, params)
