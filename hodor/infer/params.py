"""Inference settings: the ``infer`` section of params.yaml plus the top-level ``temporal_window`` and
``min_image_dim`` (top level so that ``dvc exp run -S temporal_window=7`` works as typed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hodor.config import ParamsError, from_dict, read_section, read_yaml
from hodor.launch import Launch, split_launch

TOP_LEVEL_KEYS = ("temporal_window", "min_image_dim")


@dataclass(frozen=True)
class InferParams:
    """How a video is propagated.

    temporal_window: W; frame t is segmented from the descriptors of frames t-W .. t (official ``-t``).
    min_image_dim: short side of the network input (official ``--min_image_dim``).
    max_dim_ratio: MAX_DIM = round(min_image_dim x ratio); the official code takes the ratio from the
        checkpoint's config (static image 864/448, video 1200/576).
    backbone_batch_size: frames per backbone batch (official 16); bounds feature memory.
    amp: autocast dtype for the network ("none" = fp32 as the official code; "bf16" works on CPU and GPU).
    """

    temporal_window: int
    min_image_dim: int
    max_dim_ratio: float
    backbone_batch_size: int
    amp: Literal["none", "bf16", "fp16"]

    def __post_init__(self) -> None:
        if self.temporal_window < 1:
            raise ValueError(
                f"temporal_window must be >= 1 (0 would ignore every past frame), got {self.temporal_window}"
            )
        if self.min_image_dim < 32:
            raise ValueError(f"min_image_dim must be >= 32, got {self.min_image_dim}")
        if self.max_dim_ratio < 1.0:
            raise ValueError(f"max_dim_ratio must be >= 1, got {self.max_dim_ratio}")
        if self.backbone_batch_size < 1:
            raise ValueError(f"backbone_batch_size must be >= 1, got {self.backbone_batch_size}")

    @property
    def max_image_dim(self) -> int:
        """``--min_image_dim m`` sets MAX_DIM = round(m x MAX_DIM/MIN_DIM of the checkpoint's config)."""
        return round(self.min_image_dim * self.max_dim_ratio)


def load_infer_launch(params_path: str | Path) -> Launch:
    """The launch keys of section ``infer`` of ``params.yaml`` (absent keys: one process).

    They say how to run, not what to compute, so they stay out of :class:`InferParams`: a run with 2
    processes resumes one made with 1, and DVC does not rerun inference for them. This module imports no
    torch, so a stage reads them before it relaunches itself.
    """
    return split_launch(read_section(params_path, "infer"), f"{params_path} [infer]")[1]


def load_infer_params(params_path: str | Path) -> InferParams:
    """Build :class:`InferParams` from ``params.yaml``: section ``infer`` + the top-level keys."""
    data = read_yaml(params_path)
    section = data.get("infer")
    if not isinstance(section, dict):
        raise ParamsError(f"{params_path}: missing section infer")
    clash = [k for k in TOP_LEVEL_KEYS if k in section]
    if clash:
        raise ParamsError(
            f"{params_path}: infer.{clash[0]} must be the top-level key {clash[0]}, not in infer"
        )
    missing = [k for k in TOP_LEVEL_KEYS if k not in data]
    if missing:
        raise ParamsError(f"{params_path}: missing top-level key(s) {', '.join(missing)}")
    computed = split_launch(section, f"{params_path} [infer]")[0]
    merged = {**computed, **{k: data[k] for k in TOP_LEVEL_KEYS}}
    return from_dict(InferParams, merged, source=f"{params_path} [infer + top level]")
