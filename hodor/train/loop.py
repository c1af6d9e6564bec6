"""The training step, gradient accumulation and the hook-driven loop.

The step is deliberately small: forward (named losses), scaled backward, optimizer + scheduler step.
Logging, progress, dvclive and checkpoints are :class:`Hook` objects called around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from hodor.train.distributed import DistContext, mean_over_ranks

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def forward_seed(seed: int, forward_index: int) -> int:
    """Seed of the model's own randomness (dropout, drop-path) for one global forward batch.

    Tying it to the global batch index makes a step independent of the world size and of resumption."""
    return int(np.random.SeedSequence([seed, forward_index]).generate_state(1)[0])


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


@dataclass
class Trainer:
    """Owns the training state. ``model`` is a :class:`hodor.train.cycles.TrainingModel` (maybe DDP)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    ctx: DistContext
    seed: int
    accumulation: int
    amp: str = "none"
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    hooks: Sequence[Hook] = ()  # those of the running :meth:`fit`

    def run_step(self, batches: Sequence[dict]) -> dict[str, float]:
        """One optimizer step over ``accumulation`` forward batches of this process. Returns metrics
        averaged over the forwards and the processes (``loss``, ``dice``, ``ce``, ``iou``, ``lr``)."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        lr = self.optimizer.param_groups[0]["lr"]
        for sub, batch in enumerate(batches):
            index = (self.step * self.accumulation + sub) * self.ctx.world_size + self.ctx.rank
            torch.manual_seed(forward_seed(self.seed, index))
            last = sub == len(batches) - 1
            no_sync = isinstance(self.model, DistributedDataParallel) and not last
            with self.model.no_sync() if no_sync else contextlib.nullcontext():
                dtype = AMP_DTYPES[self.amp]
                with torch.autocast(self.ctx.device.type, dtype=dtype, enabled=dtype is not None):
                    # The parity of the "iteration number" picks the cycle variant. Official: optimizer
                    # steps + sub-iteration, which depends on how the global batch is split into ranks
                    # and accumulation; the global forward-batch index gives the same alternation
                    # without that dependence (one process == N processes, same global batch).
                    losses = self.model(to_device(batch, self.ctx.device), index)
                self.scaler.scale(losses["loss"] / len(batches)).backward()
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + float(value.detach()) / len(batches)
            for hook in self.hooks:
                hook.after_forward(self, sub)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.step += 1
        return {**mean_over_ranks(totals, self.ctx), "lr": lr}

    def fit(self, batches: Iterable[dict], total_steps: int, hooks: Sequence[Hook] = ()) -> None:
        """Run from ``self.step`` to ``total_steps``; ``batches`` yields this process's forward batches."""
        self.hooks = hooks
        for hook in hooks:
            hook.before_train(self)
        stream = iter(batches)
        while self.step < total_steps:
            metrics = self.run_step(list(_take(stream, self.accumulation)))
            self.history.append(metrics)
            for hook in hooks:
                hook.after_step(self, metrics)
        for hook in hooks:
            hook.after_train(self)


def _take(stream: Iterator[dict], n: int) -> Iterator[dict]:
    for _ in range(n):
        try:
            yield next(stream)
        except StopIteration:
            raise RuntimeError("the data loader ran out of batches before the last step") from None


class Hook:
    """Called by :meth:`Trainer.fit`; override what you need."""

    def before_train(self, trainer: Trainer) -> None:
        pass

    def after_forward(self, trainer: Trainer, sub: int) -> None:
        """After the backward of forward ``sub`` of the step in progress (``trainer.step`` not yet
        advanced); between two of them gradients are half accumulated."""

    def after_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        pass

    def checkpoint_phase(self, trainer: Trainer, path: Path, phase: str) -> None:
        """A checkpoint write of ``path`` reached ``phase`` (:data:`hodor.train.checkpoint.PHASES`)."""

    def after_train(self, trainer: Trainer) -> None:
        pass


def rank_batch_indices(step: int, total_steps: int, accumulation: int, ctx: DistContext) -> range:
    """Global forward-batch indices this process consumes from optimizer step ``step`` on.

    Step s, sub-iteration a, rank r -> (s * A + a) * W + r: the W ranks share each round, so a global step
    covers the same ``A * W`` batches for any split of the global batch into ranks and accumulation.
    A ``range``, not a list: a paper run has a million of them per rank."""
    w = ctx.world_size
    return range(step * accumulation * w + ctx.rank, total_steps * accumulation * w, w)
