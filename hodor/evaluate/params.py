"""``evaluate`` section of params.yaml."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluateParams:
    """``workers``: processes scoring videos in parallel (1 = in the stage's own process).

    Scoring has no other knob on purpose: the boundary tolerance, decay bins and scored frames are the
    benchmark's definitions, not choices.
    """

    workers: int

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
