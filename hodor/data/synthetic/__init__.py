"""Synthetic raw datasets in the real COCO / DAVIS 2017 / YouTube-VOS 2019 layouts (``hodor synthesize``)."""

from hodor.data.synthetic.build import MARKER, SynthesisSummary, is_synthetic_output, synthesize
from hodor.data.synthetic.scales import SCALES, ScaleSpec

__all__ = ["MARKER", "SCALES", "ScaleSpec", "SynthesisSummary", "is_synthetic_output", "synthesize"]
