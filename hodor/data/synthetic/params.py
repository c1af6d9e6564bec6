"""``data.synthetic`` section of params.yaml: which synthetic workspace ``stages/synthesize.py`` writes."""

from __future__ import annotations

from dataclasses import dataclass

from hodor.data.synthetic.scales import SCALES


@dataclass(frozen=True)
class SynthesisParams:
    """``seed``: generator seed (independent of the training ``seed``, so ablating that keeps the data);
    ``scale``: one of ``tiny`` / ``default`` / ``large``."""

    seed: int
    scale: str

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.scale not in SCALES:
            raise ValueError(f"scale {self.scale!r} is not one of {', '.join(SCALES)}")
