"""Scoring: DAVIS 2017 J&F exactly as the official toolkit (fast), local YouTube-VOS seen/unseen scores,
and the results report (``hodor.evaluate.report``).

``evaluate_davis`` -> :class:`DavisResult`; ``write_davis_outputs`` writes the official CSVs and
``metrics.json``; ``evaluate_youtube_vos`` -> :class:`YouTubeVOSResult`.
"""

from hodor.evaluate.davis import DavisResult, evaluate_davis
from hodor.evaluate.outputs import write_davis_outputs, write_youtube_vos_outputs
from hodor.evaluate.youtube_vos import YouTubeVOSResult, evaluate_youtube_vos

__all__ = [
    "DavisResult",
    "YouTubeVOSResult",
    "evaluate_davis",
    "evaluate_youtube_vos",
    "write_davis_outputs",
    "write_youtube_vos_outputs",
]
