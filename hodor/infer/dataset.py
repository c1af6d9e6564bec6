"""Inference over a standardized-JSON video dataset (DAVIS / YouTube-VOS), resumable, with fps.

fps follows the official definition: frames / seconds of data loading + network forward, with PNG writing
excluded. Per-sequence timings are stored in the done markers, so a resumed run reports the same figure
as an uninterrupted one would (up to timing noise).

Under torchrun the sequences are shared among the ranks (:func:`share_sequences`, balanced by frame
count); every rank writes its own sequences into the same output tree (a shared file system), and rank 0
writes ``Annotations.zip`` and the summary once every rank has finished. A sequence's labels do not depend
on which process segments it, so N processes write the same PNGs as one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from hodor.atomic import write_json
from hodor.config import to_dict
from hodor.data.image_ops import read_frame_bgr
from hodor.data.standard_json import VideoDataset, VideoSequence
from hodor.errors import InputError
from hodor.infer import writers
from hodor.infer.params import InferParams
from hodor.infer.segmenter import VideoSegmenter
from hodor.provenance import file_sha256, provenance
from hodor.train.distributed import DistContext, gather_objects

log = logging.getLogger(__name__)

# How long the ranks wait for each other at the end (pass to hodor.train.distributed.setup): the shares
# differ by up to one sequence, and a GPU may be slower than the others; torch's nccl default is 10 min.
GATHER_TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class InferSummary:
    """What a run did: ``fps`` = frames / seconds (loading + forward, writing excluded)."""

    fps: float
    frames: int
    seconds: float
    sequences: int
    skipped: int  # sequences already finished by an earlier run with the same settings
    dropped_objects: dict[str, list[int]]  # sequence -> object ids whose reference mask vanished
    ranks: int = 1  # processes that shared the sequences
    total_fps: float = 0.0  # frames / seconds of the busiest rank: all ranks together (= fps for one)


def share_sequences(frames: Sequence[int], world_size: int) -> list[list[int]]:
    """Which sequences each rank segments: indices into ``frames`` (frame count per sequence).

    Greedy longest-first: the sequences, longest first (ties in dataset order), go one by one to the rank
    with the fewest frames so far (ties: lowest rank). Every rank computes the same plan, without talking
    to the others. Each rank's list is in dataset order.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    loads, shares = [0] * world_size, [[] for _ in range(world_size)]
    for index in sorted(range(len(frames)), key=lambda i: (-frames[i], i)):
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        loads[rank] += frames[index]
        shares[rank].append(index)
    return [sorted(share) for share in shares]


def file_provenance(path: Path) -> dict[str, Any]:
    """Path, sha256 and modification time of a checkpoint, recorded with the outputs it made."""
    path = Path(path)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
    return {"path": str(path), "sha256": file_sha256(path), "mtime": mtime}


def _frames(dataset: VideoDataset, seq: VideoSequence) -> Iterator[np.ndarray]:
    """Read a sequence's frames lazily, checking each against the size of its masks."""
    for t in range(len(seq)):
        path = dataset.image_path(seq, t)
        frame = read_frame_bgr(path)
        if frame.shape[:2] != (seq.height, seq.width):
            raise InputError(
                f"{path}: frame {t} of sequence {seq.id!r} is {frame.shape[0]}x{frame.shape[1]} but the "
                f"sequence's masks are {seq.height}x{seq.width}; the JSON and the images do not match"
            )
        yield frame


def _add_references(segmenter: VideoSegmenter, seq: VideoSequence, kind: str) -> None:
    refs = seq.reference_masks
    if not refs or not any(refs.values()):
        raise InputError(f"sequence {seq.id!r}: no reference mask in any frame; nothing to propagate")
    if kind == "davis" and not refs.get(0):
        raise InputError(
            f"sequence {seq.id!r}: the first frame ({seq.image_paths[0]}) has no mask; DAVIS semi-supervised "
            "inference starts from the first frame's objects"
        )
    for frame, objects in refs.items():
        for obj_id, counts in objects.items():
            segmenter.add_object_mask(frame, obj_id, seq.decode(counts))


def _run_sequence(
    segmenter: VideoSegmenter, dataset: VideoDataset, seq: VideoSequence, out_dir: Path, kind: str, bar: tqdm
) -> tuple[float, list[int]]:
    """Segment and write one sequence; returns (seconds of loading + forward, dropped object ids)."""
    segmenter.reset(seq.id)
    _add_references(segmenter, seq, kind)
    results = segmenter.propagate(_frames(dataset, seq))
    seconds = 0.0
    while True:
        start = time.perf_counter()
        result = next(results, None)
        seconds += time.perf_counter() - start
        if result is None:
            break
        writers.write_frame(out_dir, kind, seq.id, Path(seq.image_paths[result.index]).stem, result.labels)
        bar.update(1)
    return seconds, sorted(segmenter.state.objects.dropped)


def infer_dataset(
    model: torch.nn.Module,
    dataset: VideoDataset,
    out_dir: Path,
    params: InferParams,
    dataset_kind: str,
    device: torch.device | str = "cpu",
    *,
    provenance: dict[str, Any] | None = None,
    sequences: Sequence[str] | None = None,
    progress: bool = True,
    ctx: DistContext | None = None,
) -> InferSummary:
    """Segment every sequence (or the named ones) of ``dataset`` into ``out_dir``; resumable.

    Writes the PNGs, ``Annotations.zip`` for YouTube-VOS, and ``<out>/inference_summary.json``. With a
    distributed ``ctx`` this rank segments its share only; every rank returns the same summary.
    """
    writers.check_kind(dataset_kind)
    ctx = ctx or DistContext()
    out_dir = Path(out_dir)
    seqs = [dataset.sequence(s) for s in sequences] if sequences else list(dataset.sequences)
    settings = {"params": to_dict(params), "provenance": provenance or {}, "dataset": dataset.name}
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    shares = share_sequences([len(s) for s in seqs], ctx.world_size)
    mine = [seqs[i] for i in shares[ctx.rank]]
    records, skipped = _run_share(model, dataset, mine, out_dir, params, dataset_kind, device, fingerprint,
                                  rank=ctx.rank, progress=progress and ctx.is_main)  # fmt: skip
    gathered = gather_objects((records, skipped), ctx)  # also the point where every rank has finished
    everything = {k: v for share, _ in gathered for k, v in share.items()}
    records = {seq.id: everything[seq.id] for seq in seqs}  # dataset order, whichever rank did it
    rank_seconds = [sum(records[seqs[i].id]["seconds"] for i in share) for share in shares]
    if ctx.is_main:
        if ctx.distributed:
            _check_shared_output(out_dir, seqs, fingerprint)
        if dataset_kind == "youtube_vos":
            members = [
                name
                for seq in seqs
                for name in writers.zip_member_names(
                    seq.id, [Path(p).stem for p in seq.image_paths], seq.eval_files
                )
            ]
            writers.write_youtube_vos_zip(out_dir, members)
    skipped = sum(n for _, n in gathered)
    return _summarize(out_dir, records, skipped, settings, params, rank_seconds, write=ctx.is_main)


def _run_share(
    model: torch.nn.Module,
    dataset: VideoDataset,
    seqs: list[VideoSequence],
    out_dir: Path,
    params: InferParams,
    dataset_kind: str,
    device: torch.device | str,
    fingerprint: str,
    *,
    rank: int,
    progress: bool,
) -> tuple[dict[str, dict], int]:
    """Segment ``seqs`` (this process's share) unless done before; returns (marker records, skipped)."""
    segmenter = VideoSegmenter.from_params(model, params, device)
    records, skipped = {}, 0
    with tqdm(total=sum(len(s) for s in seqs), unit="frame", disable=not progress, desc="infer") as bar:
        for seq in seqs:
            record = writers.read_done(out_dir, seq.id, fingerprint)
            if record is None:
                writers.clear_sequence(out_dir, dataset_kind, seq.id)
                seconds, dropped = _run_sequence(segmenter, dataset, seq, out_dir, dataset_kind, bar)
                record = {
                    "fingerprint": fingerprint,
                    "frames": len(seq),
                    "seconds": seconds,
                    "dropped": dropped,
                    "rank": rank,  # information only: which process segmented it
                }
                writers.mark_done(out_dir, seq.id, record)
            else:
                skipped += 1
                bar.update(len(seq))
            records[seq.id] = record
    return records, skipped


def _check_shared_output(out_dir: Path, seqs: list[VideoSequence], fingerprint: str) -> None:
    """Rank 0 must see what the other ranks wrote (one output tree on a shared file system)."""
    missing = [seq.id for seq in seqs if writers.read_done(out_dir, seq.id, fingerprint) is None]
    if missing:
        raise InputError(
            f"{out_dir}: rank 0 cannot see the finished sequences {', '.join(missing[:5])} that other ranks "
            "wrote; with several nodes --out must be a folder on a shared file system"
        )


def _summarize(
    out_dir: Path,
    records: dict[str, dict],
    skipped: int,
    settings: dict,
    params: InferParams,
    rank_seconds: list[float],
    *,
    write: bool = True,
) -> InferSummary:
    """The run's figures; ``rank_seconds``: loading + forward seconds of each rank's share (the busiest
    rank bounds how long the ranks take together). ``write``: also write inference_summary.json."""
    frames = sum(r["frames"] for r in records.values())
    seconds = sum(r["seconds"] for r in records.values())
    dropped = {s: r["dropped"] for s, r in records.items() if r["dropped"]}
    busiest = max(rank_seconds, default=0.0)
    summary = InferSummary(
        fps=frames / seconds if seconds > 0 else 0.0,
        frames=frames,
        seconds=seconds,
        sequences=len(records),
        skipped=skipped,
        dropped_objects=dropped,
        ranks=len(rank_seconds),
        total_fps=frames / busiest if busiest > 0 else 0.0,
    )
    if not write:
        return summary
    write_json(
        out_dir / "inference_summary.json",
        {
            **asdict(summary),
            "dataset": settings["dataset"],
            "checkpoint": settings["provenance"],
            "temporal_window": params.temporal_window,
            "min_image_dim": params.min_image_dim,
            "max_image_dim": params.max_image_dim,
            "infer_params": settings["params"],
            "versions": provenance(),  # information only: which library versions made these masks
        },
        indent=1,
    )
    if dropped:
        log.warning("objects DROPPED (reference mask too small for the input size): %s", dropped)
    return summary
