"""Training sample lists per regime (hodor-training.md §5), precomputed once with a seeded ``random``.

A sample spec says which image/video, which frames and which objects; the pixels are produced later by
:mod:`hodor.data.train_samples_loader`. The list depends only on the datasets, the params and ``sample_seed``,
so every process of a distributed run builds the same list and shards it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hodor.data.standard_json import ImageDataset, VideoDataset, VideoSequence
from hodor.errors import InputError
from hodor.train.params import TrainParams


@dataclass(frozen=True)
class SampleSpec:
    """``source``: dataset index in the list given to the builder; ``item``: image/sequence index;
    ``frames``: [reference, others...] frame indices (static: empty); ``objects``: object ids (video) or
    object indices (static), painted as 1..k in this order; ``aspect``: h / w of the source."""

    source: int
    item: int
    frames: tuple[int, ...]
    objects: tuple[int, ...]
    aspect: float


def _valid_static_objects(record, params: TrainParams) -> list[int]:
    """COCO object filter (strict inequalities, as the official image loader)."""
    return [
        i
        for i, (area, box) in enumerate(zip(record.areas, record.bboxes, strict=True))
        if area > params.min_ref_mask_area and min(box[2], box[3]) > params.min_ref_mask_dim
    ]


def _binned_draws(
    rng: random.Random, pools: dict[int, list], total: int, num_instances: int
) -> list[tuple[object, int]]:
    """ceil(total / #counts) draws per instance count k (largest first), cycling through a shuffled pool
    of the items having at least k objects. Counts with an empty pool are skipped."""
    counts = [k for k in range(num_instances, 0, -1) if any(n >= k for n in pools)]
    per_count = math.ceil(total / max(1, len(counts)))
    draws = []
    for k in counts:
        pool = [item for n, items in pools.items() if n >= k for item in items]
        rng.shuffle(pool)
        draws += [(pool[i % len(pool)], k) for i in range(per_count)]
    return draws


def static_samples(dataset: ImageDataset, params: TrainParams, total: int) -> list[SampleSpec]:
    """COCO pseudo-video samples: ``total`` specs, objects as a sorted random subset per image."""
    rng = random.Random(params.sample_seed)
    pools: dict[int, list] = {}
    for index, record in enumerate(dataset.images):
        objects = _valid_static_objects(record, params)
        if objects:
            pools.setdefault(min(len(objects), params.num_instances), []).append((index, objects))
    if not pools:
        raise InputError(
            f"dataset {dataset.name!r}: no image has an object with area > {params.min_ref_mask_area} px and "
            f"box sides > {params.min_ref_mask_dim} px; lower min_ref_mask_area/min_ref_mask_dim or check the JSON"
        )
    specs = []
    for (index, objects), k in _binned_draws(rng, pools, total, params.num_instances):
        chosen = tuple(sorted(rng.sample(objects, k)))  # annotation order: later objects paint over
        record = dataset.images[index]
        specs.append(SampleSpec(0, index, (), chosen, record.height / record.width))
    return specs


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


def _sparse_other_frames(rng: random.Random, ref: int, length: int, k: int, max_delta: int) -> tuple:
    before = list(range(max(0, ref - max_delta), ref))
    after = list(range(ref + 1, min(length, ref + max_delta + 1)))
    sides = [s for s in (before, after) if len(s) >= k]
    side = rng.choice(sides) if sides else before + after
    return tuple(rng.sample(side, k))  # not sorted, as the official code


def video_samples(
    datasets: list[VideoDataset], shares: list[float], params: TrainParams, total: int, dense: bool
) -> list[SampleSpec]:
    """Sparse or dense video specs, ``round(total * share)`` from each dataset (the last gets the rest).

    DAVIS (the second dataset by convention) uses twice the clip spacing, as the official code.
    """
    rng = random.Random(params.sample_seed)
    specs: list[SampleSpec] = []
    for source, (dataset, share) in enumerate(zip(datasets, shares, strict=True)):
        wanted = total - len(specs) if source == len(datasets) - 1 else round(total * share)
        if wanted <= 0:
            continue
        max_delta = params.max_clip_delta * (2 if source == 1 else 1)
        build = _dense_candidates if dense else _sparse_candidates
        pools = build(rng, dataset, params, max_delta)
        if not pools:
            raise InputError(
                f"dataset {dataset.name!r}: no usable {'dense' if dense else 'sparse'} training sample (need "
                f"videos with > {params.num_other_frames} frames and an object of area >= "
                f"{params.min_ref_mask_area} px, box sides >= {params.min_ref_mask_dim} px)"
            )
        for (item, ref, objects, frames), k in _binned_draws(rng, pools, wanted, params.num_instances)[
            :wanted
        ]:
            seq = dataset.sequences[item]
            if dense:  # positions in the annotated-frame list, forward only, sorted
                pos = frames.index(ref)
                window = range(pos + 1, min(len(frames), pos + max_delta))
                others = tuple(frames[p] for p in sorted(rng.sample(window, params.num_other_frames)))
            else:
                others = _sparse_other_frames(rng, ref, len(seq), params.num_other_frames, max_delta)
            chosen = tuple(sorted(rng.sample(objects, k)))
            specs.append(SampleSpec(source, item, (ref, *others), chosen, seq.height / seq.width))
    return specs[:total] if len(specs) >= total else specs


def _sparse_candidates(rng, dataset: VideoDataset, params: TrainParams, max_delta: int) -> dict[int, list]:
    """One reference per video (the middle annotated frame); pools keyed by min(#objects, I)."""
    pools: dict[int, list] = {}
    for item, seq in enumerate(dataset.sequences):
        if len(seq) <= params.num_other_frames:
            continue
        stats = _mask_stats(seq, seq.annotated_frames())
        annotated = [t for t in seq.annotated_frames() if valid_objects(seq, t, params, stats)]
        if not annotated:
            continue
        ref = middle_reference(annotated, len(seq))
        objects = valid_objects(seq, ref, params, stats)
        pools.setdefault(min(len(objects), params.num_instances), []).append((item, ref, objects, None))
    return pools


def _dense_candidates(rng, dataset: VideoDataset, params: TrainParams, max_delta: int) -> dict[int, list]:
    """Every annotated frame with room for the other frames after it and at least one valid object.

    Clips are built from the annotated frames only (YouTube-VOS annotates every 5th frame; an unannotated
    frame has no ground truth for a dense loss), so a "frame" below is a position in that list. Videos
    need more than ``num_other_frames + min_clip_delta`` annotated frames.
    """
    pools: dict[int, list] = {}
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
                pools.setdefault(min(len(objects), params.num_instances), []).append(
                    (item, t, objects, frames)
                )
    return pools
