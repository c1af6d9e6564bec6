"""``data`` section of params.yaml: where the raw datasets are, and whether to synthesize them.

The default pipeline synthesizes small datasets in the real raw layouts under ``data/synthetic``; pointing the
three roots at the real COCO 2017, DAVIS 2017 and YouTube-VOS 2019 folders (and ``source: real``) runs
the same stages on the real data.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
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


def git_excludes(params: Path, repo: Path) -> list[str]:
    """``:(exclude)<root>`` pathspecs for the dataset roots of ``params`` that lie inside ``repo``.

    ``make repro`` in a source tarball commits the tree with ``git add -A``; a real dataset placed in the
    repository (the paper profile uses ``datasets/``) must never be added, whatever .gitignore says.
    """
    import yaml  # only this helper needs it

    data = (yaml.safe_load(Path(params).read_text()) or {}).get("data") or {}
    repo = Path(repo).resolve()
    out = []
    for key in ("coco_root", "davis_root", "youtube_vos_root"):
        root = (repo / str(data.get(key, ""))).resolve()
        if data.get(key) and root != repo and repo in root.parents:
            out.append(f":(exclude){os.path.relpath(root, repo)}")
    return out


if __name__ == "__main__":  # python -m hodor.data.params PARAMS: the pathspecs, for the Makefile
    print(" ".join(git_excludes(Path(sys.argv[1]), Path.cwd())))
