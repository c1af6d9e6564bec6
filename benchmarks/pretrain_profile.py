"""Where a quick-profile pretraining step spends its time: loader, forward, backward, optimizer.

    python benchmarks/pretrain_profile.py --workspace workspace [--params params.yaml] [--steps 6]
        [--threads 1]

Reads the ``model`` and ``pretrain`` sections and the top-level ``seed`` of ``--params`` and the COCO JSON
of ``--workspace`` (what ``dvc repro`` converted), then runs ``--steps`` optimizer steps of the real
recipe (accumulation, seeds, cycles, dice + CE, AdamW) after one untimed warm-up step, timing each phase:
building the forward batches (augmentation, decoding, padding), the forward (cycles, losses and the logged
IoU), the backward, and the optimizer + scheduler step. Printed per phase: process CPU seconds and wall
seconds per optimizer step and the CPU share, with the load average at the start and the end.

Why CPU seconds: on a shared machine wall time swings with the others' load (two torch threads stall at
every barrier when the cores are oversubscribed), while one thread's CPU time stays near its idle value;
``--threads 1`` (default) makes the CPU share the work's share. ``--threads 2`` shows the wall split of
the pipeline's own setting on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

PHASES = ("loader", "forward", "backward", "optimizer")


class Clock:
    """Accumulates process CPU and wall seconds per phase."""

    def __init__(self) -> None:
        self.cpu = dict.fromkeys(PHASES, 0.0)
        self.wall = dict.fromkeys(PHASES, 0.0)
        self._start = (0.0, 0.0)

    def start(self) -> None:
        self._start = (time.process_time(), time.perf_counter())

    def stop(self, phase: str) -> None:
        self.cpu[phase] += time.process_time() - self._start[0]
        self.wall[phase] += time.perf_counter() - self._start[1]


def timed_step(trainer, data, step: int, clock: Clock) -> float:
    """One optimizer step as :meth:`hodor.train.loop.Trainer.run_step` does it, phase by phase; the loss."""
    from hodor.train.loop import forward_seed

    trainer.model.train()
    trainer.optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for sub in range(trainer.accumulation):
        index = step * trainer.accumulation + sub
        clock.start()
        batch = data[index]
        clock.stop("loader")
        clock.start()
        torch.manual_seed(forward_seed(trainer.seed, index))
        losses = trainer.model(batch, index)
        clock.stop("forward")
        clock.start()
        (losses["loss"] / trainer.accumulation).backward()
        clock.stop("backward")
        total += float(losses["loss"].detach()) / trainer.accumulation
    clock.start()
    trainer.optimizer.step()
    trainer.scheduler.step()
    clock.stop("optimizer")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from hodor.config import load_section
    from hodor.model import ModelParams, build_model
    from hodor.train.cli import read_seed
    from hodor.train.distributed import DistContext
    from hodor.train.params import load_train_params
    from hodor.train.run import _make_trainer, build_batches

    torch.set_num_threads(args.threads)
    model_params = load_section(ModelParams, args.params, "model")
    params = load_train_params(args.params, "static")
    seed = read_seed(args.params)
    data = build_batches("static", args.workspace, params, seed, 1)
    torch.manual_seed(seed)
    trainer = _make_trainer(build_model(model_params), params, DistContext(), seed, None)
    timed_step(trainer, data, 0, Clock())  # warm-up: first-call allocations, not timed
    load_start = os.getloadavg()[0]
    clock = Clock()
    losses = [timed_step(trainer, data, s, clock) for s in range(1, args.steps + 1)]
    cpu, wall = sum(clock.cpu.values()), sum(clock.wall.values())
    print(f"{args.steps} steps, {args.threads} thread(s), load {load_start:.1f} -> {os.getloadavg()[0]:.1f}")
    for phase in PHASES:
        print(
            f"  {phase:9s} cpu {clock.cpu[phase] / args.steps:6.3f} s/step ({100 * clock.cpu[phase] / cpu:4.1f} %)"
            f"   wall {clock.wall[phase] / args.steps:6.3f} s/step"
        )
    print(f"  total     cpu {cpu / args.steps:6.3f} s/step   wall {wall / args.steps:6.3f} s/step")
    print(f"  losses {' '.join(f'{v:.6f}' for v in losses)}")


if __name__ == "__main__":
    main()
