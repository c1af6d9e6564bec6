"""``data`` section of params.yaml: where the raw datasets are, and whether to synthesize them.

The default pipeline synthesizes small datasets in the real raw layouts under ``data/raw``; pointing the
three roots at the real COCO 2017, DAVIS 2017 and YouTube-VOS 2019 folders (and ``source: real``) runs
the same stages on the real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hodor.data.synthetic.params import SynthesisParams


@dataclass(frozen=True)
class DataParams:
    """``source``: ``synthetic`` (the ``synthesize`` stage writes the raw datasets) or ``real`` (it writes
    nothing but its marker and the roots point at real datasets). ``coco_root`` holds
    ``annotations/instances_train2017.json`` and ``train2017/``; ``davis_root`` holds ``JPEGImages/480p``,
    ``Annotations/480p`` and ``ImageSets/2017``; ``youtube_vos_root`` holds ``train/`` and ``valid/`` (and,
    for local scoring, ``valid_gt/``)."""

    source: Literal["synthetic", "real"]
    synthetic: SynthesisParams
    coco_root: str
    davis_root: str
    youtube_vos_root: str
