"""Inference: the official HODOR propagation with a temporal window, dataset runs and writers.

``VideoSegmenter`` (streaming, per video), ``infer_dataset`` (a standardized-JSON dataset into DAVIS /
YouTube-VOS result folders, resumable), ``InferParams`` (section ``infer`` + top-level ``temporal_window``
and ``min_image_dim``). Entry points: ``hodor infer`` (cli.py), ``hodor segment`` (segment_cli.py).
"""

from hodor.infer.dataset import InferSummary, infer_dataset
from hodor.infer.params import InferParams, load_infer_params
from hodor.infer.segmenter import FrameResult, VideoSegmenter

__all__ = [
    "FrameResult",
    "InferParams",
    "InferSummary",
    "VideoSegmenter",
    "infer_dataset",
    "load_infer_params",
]
