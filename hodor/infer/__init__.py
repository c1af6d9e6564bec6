"""Inference: the official HODOR propagation with a temporal window, dataset runs and writers.

``VideoSegmenter`` (streaming, per video), ``infer_dataset`` (a standardized-JSON dataset into DAVIS /
YouTube-VOS result folders, resumable), ``InferParams`` (section ``infer`` + top-level ``temporal_window``
and ``min_image_dim``). Entry points: ``hodor infer`` (cli.py), ``hodor segment`` (segment_cli.py).

The names below are imported on first use: the torch-free parts (``writers``, ``copy_baseline``) then
load without torch and the model, which the copy baseline's stage never needs (10 s of imports saved).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FrameResult": "hodor.infer.segmenter",
    "InferParams": "hodor.infer.params",
    "InferSummary": "hodor.infer.dataset",
    "VideoSegmenter": "hodor.infer.segmenter",
    "infer_dataset": "hodor.infer.dataset",
    "load_infer_params": "hodor.infer.params",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
