"""Params section ``convert``: the skip/report policy and the optional raw layouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hodor.convert.policy import Policy


@dataclass(frozen=True)
class ConvertParams:
    """``strict`` / ``max_skipped_fraction``: see :class:`hodor.convert.policy.Policy`.

    ``youtube_vos_val_frames``: which YouTube-VOS download gives the validation frames. ``valid`` (the
    standard one: every 5th frame, what the server scores) or ``valid_all_frames`` (all 30 fps frames,
    unpacked beside ``valid/``): inference then runs on every frame, and the temporal window counts
    consecutive frames instead of every 5th; the scored frames (``eval_files``) stay those of ``valid/``.
    """

    strict: bool
    max_skipped_fraction: float
    youtube_vos_val_frames: Literal["valid", "valid_all_frames"]

    def __post_init__(self) -> None:
        self.policy()  # range checks

    def policy(self) -> Policy:
        return Policy(strict=self.strict, max_skipped_fraction=self.max_skipped_fraction)

    def options(self, name: str) -> dict[str, str]:
        """Extra converter options for dataset ``name``."""
        return {"frames": self.youtube_vos_val_frames} if name == "youtube_vos_2019_val" else {}
