"""Hooks around the training step: progress bar, dvclive metrics, checkpoints. Rank 0 only writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hodor.train import checkpoint as ckpt
from hodor.train.loop import Hook, Trainer


class SpeedHook(Hook):
    """Measures optimizer steps per second (``it_per_s``) and adds it to the step's metrics.

    Must come first in the hook list so the other hooks see ``it_per_s``."""

    def __init__(self) -> None:
        self.t0 = self.last = 0.0
        self.start_step = 0

    def before_train(self, trainer: Trainer) -> None:
        self.t0 = self.last = time.perf_counter()
        self.start_step = trainer.step

    def after_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        metrics["it_per_s"] = 1.0 / max(now - self.last, 1e-9)
        self.last = now

    def elapsed(self) -> float:
        return self.last - self.t0


class ProgressHook(Hook):
    """tqdm bar with the loss and it/s."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self.total, self.desc, self.enabled = total, desc, enabled
        self.bar: tqdm | None = None

    def before_train(self, trainer: Trainer) -> None:
        self.bar = tqdm(total=self.total, initial=trainer.step, desc=self.desc, disable=not self.enabled,
                        dynamic_ncols=True)  # fmt: skip

    def after_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        assert self.bar is not None
        self.bar.set_postfix(loss=f"{metrics['loss']:.4f}", iou=f"{metrics['iou']:.3f}", refresh=False)
        self.bar.update(1)

    def after_train(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()


class LiveHook(Hook):
    """dvclive metrics (loss, dice, ce, iou, lr, it/s) every ``interval`` steps into ``directory``."""

    KEYS = ("loss", "dice", "ce", "iou", "lr", "it_per_s")

    def __init__(
        self, directory: Path, interval: int, resume: bool, window: list[dict[str, float]] | None = None
    ) -> None:
        """``resume``: append to the curves in ``directory`` (cut back to the resumed step beforehand,
        :func:`hodor.train.resume.cut_curves`); ``window``: the metrics of the steps after the last
        logged one, saved in the checkpoint, so the next row averages the same steps as without a stop."""
        try:
            from dvclive import Live  # imported lazily: only the main process of a run logs
        except ImportError:  # the core install (no [pipeline] extra): plain text, same figures
            self.live: Any = TextLive(directory, resume)
        else:
            self.live = Live(str(directory), dvcyaml=None, save_dvc_exp=False, resume=resume, report=None)
        self.interval = interval
        self.window: list[dict[str, float]] = list(window or [])

    def before_train(self, trainer: Trainer) -> None:
        self.live.step = trainer.step

    def after_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.window.append(metrics)
        if trainer.step % self.interval == 0:
            self._log(trainer.step)

    def _log(self, step: int) -> None:
        """Means over the steps since the last log; x axis = optimizer steps done."""
        self.live.step = step
        for key in self.KEYS:
            values = [m[key] for m in self.window if key in m]
            if values:
                self.live.log_metric(f"train/{key}", sum(values) / len(values))
        self.live.next_step()
        self.window = []

    def after_train(self, trainer: Trainer) -> None:
        # The last steps are logged even off the interval: a run always ends with its final figures.
        if self.window:
            self._log(trainer.step)
        self.live.end()


class TextLive:
    """The part of dvclive's ``Live`` that :class:`LiveHook` uses, for an install without dvclive.

    Each logged step is one line ``step=N train/loss=... ...`` printed to the terminal and appended to
    ``<directory>/train_log.txt`` (kept across a resume, rewritten by a fresh run)."""

    FILE = "train_log.txt"

    def __init__(self, directory: Path, resume: bool) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / self.FILE
        self.file = self.path.open("a" if resume else "w", encoding="utf-8")
        self.step = 0
        self.values: dict[str, float] = {}
        tqdm.write(f"dvclive not installed (pip install 'hodor-vos[pipeline]'): metrics go to {self.path}")

    def log_metric(self, name: str, value: float) -> None:
        self.values[name] = value

    def next_step(self) -> None:
        line = " ".join([f"step={self.step}", *(f"{k}={v:.6g}" for k, v in self.values.items())])
        tqdm.write(line)
        self.file.write(line + "\n")
        self.file.flush()
        self.values = {}
        self.step += 1

    def end(self) -> None:
        self.file.close()


class CheckpointHook(Hook):
    """``NNNNNN.pth`` every ``interval`` steps (last ``keep_last`` kept) and ``final.pth`` at the end.

    Each write is durable (:func:`hodor.train.checkpoint.save`) and reports its phases to every hook's
    ``checkpoint_phase`` (tests stop the process there)."""

    def __init__(
        self, folder: Path, interval: int, keep_last: int, payload: Callable[[Trainer], dict[str, Any]]
    ):
        self.folder, self.interval, self.keep_last, self.payload = folder, interval, keep_last, payload

    def after_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.step % self.interval == 0:
            self._save(trainer, self.folder / f"{trainer.step:06d}.pth")
            ckpt.prune(self.folder, self.keep_last, up_to=trainer.step)

    def after_train(self, trainer: Trainer) -> None:
        self._save(trainer, self.folder / ckpt.FINAL)

    def _save(self, trainer: Trainer, path: Path) -> None:
        def report(phase: str) -> None:
            for hook in trainer.hooks:
                hook.checkpoint_phase(trainer, path, phase)

        ckpt.save(path, self.payload(trainer), on_phase=report)
