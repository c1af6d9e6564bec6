"""How big each synthetic workspace is: ``tiny`` (tests), ``default`` (the quick CPU pipeline), ``large``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScaleSpec:
    """Counts and sizes; ``*_frames`` are inclusive (min, max) clip lengths, ``*_hw`` (height, width).

    ``coco_images`` counts the pasted images; the two real annotated photos are always added.
    ``davis_val_frames`` / ``youtube_vos_valid_frames``: validation clips are shorter than training clips,
    so that many of them (a J&F difference of a few points must be measurable) fit the CPU budget.
    """

    coco_images: int
    davis_train: int
    davis_val: int
    davis_frames: tuple[int, int]
    davis_val_frames: tuple[int, int]
    davis_hw: tuple[int, int]
    youtube_vos_train: int
    youtube_vos_valid: int
    youtube_vos_frames: tuple[int, int]
    youtube_vos_valid_frames: tuple[int, int]
    youtube_vos_hw: tuple[int, int]
    max_objects: int


# DAVIS 480p is 480x854 and YouTube-VOS mostly 720x1280: both about 9:16, kept here at CPU-friendly sizes.
# default: 12 DAVIS val sequences and 24 YouTube-VOS valid videos (the minimum for telling regimes apart)
# at 180x320, measured at 0.7x the inference CPU time of the earlier 4 + 4 longer DAVIS clips at 240x432.
# Training videos are many and short (40 + 48 of 8-12 frames): with 10 + 12 longer ones, video finetuning
# (100 steps, lr 2e-4) memorized them and lost 12 DAVIS J&F points against static training; with these
# (60 steps, lr 1e-4) it gained: sparse +0.3 DAVIS J&F / +1.9 YouTube-VOS G, dense +3.1 / +3.0.
SCALES: dict[str, ScaleSpec] = {
    "tiny": ScaleSpec(
        coco_images=12, davis_train=2, davis_val=2, davis_frames=(5, 7), davis_val_frames=(5, 7),
        davis_hw=(120, 216), youtube_vos_train=2, youtube_vos_valid=3, youtube_vos_frames=(5, 7),
        youtube_vos_valid_frames=(5, 7), youtube_vos_hw=(108, 192), max_objects=3,
    ),
    "default": ScaleSpec(
        coco_images=240, davis_train=40, davis_val=12, davis_frames=(10, 12), davis_val_frames=(10, 12),
        davis_hw=(180, 320), youtube_vos_train=48, youtube_vos_valid=24, youtube_vos_frames=(8, 10),
        youtube_vos_valid_frames=(7, 9), youtube_vos_hw=(180, 320), max_objects=4,
    ),
    "large": ScaleSpec(
        coco_images=1200, davis_train=30, davis_val=16, davis_frames=(30, 50), davis_val_frames=(20, 30),
        davis_hw=(240, 432), youtube_vos_train=60, youtube_vos_valid=32, youtube_vos_frames=(20, 36),
        youtube_vos_valid_frames=(12, 18), youtube_vos_hw=(216, 384), max_objects=4,
    ),
}  # fmt: skip
