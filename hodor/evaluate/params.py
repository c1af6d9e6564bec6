"""``evaluate`` section of params.yaml."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluateParams:
    """``workers``: processes scoring videos in parallel (1 = in the stage's own process).
    ``bootstrap_samples``: replicates of the 95% intervals (sequences resampled; 0 = no intervals);
    ``bootstrap_seed``: their seed, so that the intervals are as reproducible as the point values.

    Scoring has no other knob on purpose: the boundary tolerance, decay bins and scored frames are the
    benchmark's definitions, not choices.
    """

    workers: int
    bootstrap_samples: int
    bootstrap_seed: int

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.bootstrap_samples < 0:
            raise ValueError(
                f"bootstrap_samples must be >= 0 (0 = no intervals), got {self.bootstrap_samples}"
            )
