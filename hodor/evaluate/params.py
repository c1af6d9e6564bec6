"""``evaluate`` section of params.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# YouTube-VOS validation ground truth below data.youtube_vos_root: the full masks held back (the synthetic
# data writes them), or the released first-appearance masks, which are never ground truth (null scores).
YOUTUBE_VOS_GT = ("valid_gt/Annotations", "valid/Annotations")


@dataclass(frozen=True)
class EvaluateParams:
    """``workers``: processes scoring videos in parallel (1 = in the stage's own process).
    ``bootstrap_samples``: replicates of the 95% intervals (sequences resampled; 0 = no intervals);
    ``bootstrap_seed``: their seed, so that the intervals are as reproducible as the point values.

    ``youtube_vos_gt``: where the YouTube-VOS validation ground truth is, below ``data.youtube_vos_root``.
    ``valid_gt/Annotations`` (full masks, as the synthetic data holds them: scored locally) or
    ``valid/Annotations`` (the real download: first-appearance masks only, so the scores are null and the
    zip goes to the challenge server). It is a params key, not a guess from what exists, so that the DVC
    stage depends on exactly the folder it reads (DVC stops on a dependency that does not exist).

    Scoring has no other knob on purpose: the boundary tolerance, decay bins and scored frames are the
    benchmark's definitions, not choices.
    """

    workers: int
    youtube_vos_gt: Literal["valid_gt/Annotations", "valid/Annotations"]
    bootstrap_samples: int
    bootstrap_seed: int

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.bootstrap_samples < 0:
            raise ValueError(
                f"bootstrap_samples must be >= 0 (0 = no intervals), got {self.bootstrap_samples}"
            )
