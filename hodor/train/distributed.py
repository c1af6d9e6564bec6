"""Process context of a (possibly distributed) run. Worked out once at the entry point and passed down.

Nothing here reads the environment by itself: :func:`context_from_env` receives the mapping (the CLI and
the stages pass ``os.environ``) so the library stays free of global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class DistContext:
    """``rank`` / ``world_size`` of this process, its ``device``, and the collective ``backend``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"


def context_from_env(env: Mapping[str, str], device: str | None = None) -> DistContext:
    """From torchrun's ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (single process when absent).

    ``device``: ``"cpu"``, ``"cuda"`` or None (= CUDA when available). With CUDA every process takes
    the GPU of its local rank.
    """
    rank, world, local = (int(env.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
    kind = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(kind, local) if kind == "cuda" else torch.device(kind)
    return DistContext(rank=rank, world_size=world, local_rank=local, device=dev)


def setup(ctx: DistContext, timeout: timedelta | None = None) -> None:
    """Join the process group (torchrun provides MASTER_ADDR/PORT to ``init_process_group``).

    ``timeout``: how long a collective may wait for the slowest rank (None: torch's default, 10 min for
    nccl, 30 min for gloo); inference ranks meet once at the end and may finish far apart.
    """
    if ctx.distributed and not dist.is_initialized():
        if ctx.device.type == "cuda":
            torch.cuda.set_device(ctx.device)
        extra = {"timeout": timeout} if timeout is not None else {}
        dist.init_process_group(backend=ctx.backend, rank=ctx.rank, world_size=ctx.world_size, **extra)


def teardown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(values: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """Average scalar metrics over all processes (identity for a single process)."""
    if not ctx.distributed:
        return values
    keys = sorted(values)
    t: Tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return {k: float(v) / ctx.world_size for k, v in zip(keys, t.tolist(), strict=True)}


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_from_main(value: Any, ctx: DistContext) -> Any:
    """Rank 0's ``value`` on every rank (a picklable object; identity for a single process)."""
    if not ctx.distributed:
        return value
    box = [value if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(value: Any, ctx: DistContext) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank (``[value]`` for a single process)."""
    if not ctx.distributed:
        return [value]
    found: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(found, value)
    return found
