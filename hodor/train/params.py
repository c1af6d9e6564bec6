"""Training parameters: one frozen dataclass per regime (sections ``pretrain``, ``finetune.sparse|dense``).

Official values (hodor-training.md §1, §4, §8) are in :data:`PAPER_STATIC`, :data:`PAPER_SPARSE` and
:data:`PAPER_DENSE`; the quick CPU profile used by the default ``params.yaml`` is in :data:`QUICK_STATIC`,
:data:`QUICK_SPARSE` and :data:`QUICK_DENSE`. Sizes are given as numbers so that the quick profile can scale
the object filters with its small images.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hodor.config import load_section, read_section
from hodor.launch import LAUNCH_KEYS, Launch, split_launch

Regime = Literal["static", "sparse", "dense"]
REGIMES: tuple[str, ...] = ("static", "sparse", "dense")
# Checkpoint folder per regime (official workspace layout).
REGIME_DIRS = {"static": "static_image", "sparse": "video_sparse", "dense": "video_dense"}


@dataclass(frozen=True)
class TrainParams:
    """One training run. ``iterations`` counts optimizer steps of ``batch_size`` samples (global)."""

    iterations: int  # optimizer steps (TOTAL_ITERATIONS)
    batch_size: int  # samples per optimizer step over all processes (BATCH_SIZE)
    samples_per_forward: int  # samples per process per forward (--max_samples_per_gpu)
    base_lr: float
    lr_schedule: Literal["step", "warmup"]
    warmup_iters: int
    warmup_lr_init: float
    lr_steps: list[int]  # milestones of the "step" schedule
    lr_decay_rates: list[float]  # one factor per milestone
    weight_decay: float  # AdamW
    num_instances: int  # max objects per sample (NUM_INSTANCES)
    num_other_frames: int  # frames besides the reference (NUM_OTHER_FRAMES)
    min_ref_mask_area: int  # objects need area >= this (COCO: strictly >) ...
    min_ref_mask_dim: int  # ... and min(box w, h) >= this (COCO: strictly >)
    max_image_area: int  # static: pixel budget of the resized pseudo-video
    min_dim: int  # video: short side after resizing ...
    max_dim: int  # ... unless the long side would exceed this
    min_clip_delta: int  # video: other frames within [min, max] of the reference
    max_clip_delta: int  # (DAVIS uses 2x max)
    youtube_vos_fraction: float  # video: share of samples from YouTube-VOS (rest DAVIS)
    color_augmentation: bool  # video colour jitter (COCO jitter is always on)
    detach_intermediate_masks: bool
    amp: Literal["none", "bf16", "fp16"]  # autocast dtype; fp16 adds a GradScaler
    save_interval: int  # optimizer steps between checkpoints
    keep_last: int  # NNNNNN.pth files kept (final.pth always)
    keep_previous_runs: int  # earlier run definitions' checkpoint folders kept in <out>.previous-runs/
    log_interval: int  # optimizer steps between metric logs
    num_workers: int  # data-loader worker processes per rank (0 = in the main process)
    sample_seed: int  # seed of the sample sequence (official: 2202)

    def __post_init__(self) -> None:
        positive = ("iterations", "batch_size", "samples_per_forward", "num_instances", "max_image_area")
        positive += ("min_dim", "max_dim", "save_interval", "keep_last", "log_interval", "min_clip_delta")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.samples_per_forward:
            raise ValueError(
                f"batch_size {self.batch_size} must be a multiple of samples_per_forward "
                f"{self.samples_per_forward}"
            )
        if not self.base_lr > 0 or not 0 <= self.warmup_lr_init <= self.base_lr:
            raise ValueError(f"need base_lr > 0 and 0 <= warmup_lr_init <= base_lr, got {self}")
        if min(self.warmup_iters, self.weight_decay, self.num_workers, self.keep_previous_runs) < 0:
            raise ValueError("warmup_iters, weight_decay, num_workers and keep_previous_runs must be >= 0")
        if len(self.lr_steps) != len(self.lr_decay_rates) or sorted(self.lr_steps) != list(self.lr_steps):
            raise ValueError("lr_steps must be increasing and have one lr_decay_rates entry each")
        if self.num_other_frames < 1:
            # The official single-frame path (NUM_OTHER_FRAMES 0) is broken; every regime uses 2.
            raise ValueError(f"num_other_frames must be >= 1, got {self.num_other_frames}")
        if self.min_ref_mask_area < 0 or self.min_ref_mask_dim < 0:
            raise ValueError("min_ref_mask_area and min_ref_mask_dim must be >= 0")
        if self.min_dim > self.max_dim:
            raise ValueError(f"min_dim {self.min_dim} > max_dim {self.max_dim}")
        if self.max_clip_delta < self.min_clip_delta:
            raise ValueError("max_clip_delta must be >= min_clip_delta")
        if not 0.0 <= self.youtube_vos_fraction <= 1.0:
            raise ValueError(f"youtube_vos_fraction must be in [0, 1], got {self.youtube_vos_fraction}")

    def accumulation(self, world_size: int) -> int:
        """Forwards per optimizer step and process, keeping the global batch equal to ``batch_size``."""
        per_round = self.samples_per_forward * world_size
        if self.batch_size % per_round:
            raise ValueError(
                f"batch_size {self.batch_size} is not a multiple of samples_per_forward x world size "
                f"({self.samples_per_forward} x {world_size})"
            )
        return self.batch_size // per_round


@dataclass(frozen=True)
class FinetuneParams:
    """Section ``finetune``: which video regimes to run and one :class:`TrainParams` each."""

    regimes: list[str]
    sparse: TrainParams
    dense: TrainParams

    def __post_init__(self) -> None:
        for regime in self.regimes:
            if regime not in ("sparse", "dense"):
                raise ValueError(f"regimes: {regime!r} is not one of ['sparse', 'dense']")

    def for_regime(self, regime: str) -> TrainParams:
        if regime not in ("sparse", "dense"):
            raise ValueError(f"no finetune parameters for regime {regime!r}")
        return getattr(self, regime)


def train_section(regime: str) -> tuple[str, ...]:
    """Where a regime's settings live in params.yaml: ``pretrain`` or ``finetune.<regime>``."""
    return ("pretrain",) if regime == "static" else ("finetune", regime)


def load_train_params(params_path: Path, regime: str) -> TrainParams:
    """``pretrain`` for static, ``finetune.<regime>`` for sparse / dense, without the launch keys."""
    if regime == "static":
        return load_section(TrainParams, params_path, "pretrain", without=LAUNCH_KEYS)
    launch_keys = [f"{video}.{key}" for video in ("sparse", "dense") for key in LAUNCH_KEYS]
    return load_section(FinetuneParams, params_path, "finetune", without=launch_keys).for_regime(regime)


def load_train_launch(params_path: Path, regime: str) -> Launch:
    """The launch keys of the regime's section (``pretrain.nproc_per_node``; absent: one process)."""
    keys = train_section(regime)
    return split_launch(read_section(params_path, *keys), f"{params_path} [{'.'.join(keys)}]")[1]


# Official values (configs/static_image.yaml, sparse_video.yaml, dense_video.yaml; hodor-training.md §8).
PAPER_STATIC = TrainParams(
    iterations=250_000, batch_size=8, samples_per_forward=2, base_lr=1e-4, lr_schedule="step",
    warmup_iters=10_000, warmup_lr_init=1e-7, lr_steps=[100_000], lr_decay_rates=[0.1], weight_decay=0.01,
    num_instances=4, num_other_frames=2, min_ref_mask_area=2000, min_ref_mask_dim=20, max_image_area=300_000,
    min_dim=448, max_dim=864, min_clip_delta=1, max_clip_delta=10, youtube_vos_fraction=0.8,
    color_augmentation=True, detach_intermediate_masks=True, amp="none", save_interval=10_000, keep_last=3,
    keep_previous_runs=2, log_interval=10, num_workers=4, sample_seed=2202,
)  # fmt: skip
PAPER_SPARSE = dataclasses.replace(
    PAPER_STATIC, iterations=120_000, base_lr=1e-5, lr_schedule="warmup", warmup_lr_init=1e-8,
    min_dim=576, max_dim=1200, max_clip_delta=6,
)  # fmt: skip
PAPER_DENSE = dataclasses.replace(PAPER_SPARSE, iterations=100_000, max_clip_delta=8)

# Quick CPU profile (synthetic data, ~240x320 images, quick model with resnet10t and 1 decoder layer,
# 2 cores): tuned by measurement, figures in hodor/train/README.md. Object filters scaled to the images
# (official 2000 px / 20 px at COCO's ~480x640 -> 500 px / 10 px at ~240x320).
QUICK_STATIC = TrainParams(
    iterations=420, batch_size=4, samples_per_forward=2, base_lr=1e-3, lr_schedule="step",
    warmup_iters=30, warmup_lr_init=1e-6, lr_steps=[330], lr_decay_rates=[0.1], weight_decay=0.01,
    num_instances=3, num_other_frames=2, min_ref_mask_area=500, min_ref_mask_dim=10, max_image_area=6_144,
    min_dim=96, max_dim=192, min_clip_delta=1, max_clip_delta=6, youtube_vos_fraction=0.8,
    color_augmentation=True, detach_intermediate_masks=True, amp="none", save_interval=100, keep_last=2,
    keep_previous_runs=2, log_interval=5, num_workers=0, sample_seed=2202,
)  # fmt: skip
QUICK_SPARSE = dataclasses.replace(
    QUICK_STATIC, iterations=60, base_lr=1e-4, lr_schedule="warmup", warmup_iters=10, warmup_lr_init=1e-7,
    lr_steps=[], lr_decay_rates=[], max_image_area=12_288, save_interval=30,
)  # fmt: skip
QUICK_DENSE = dataclasses.replace(QUICK_SPARSE, max_clip_delta=8)
