"""Which code and which library versions produced an output.

Recorded in every ``inference_summary.json`` and training checkpoint as information only: a run's
definition (config, parameters) never includes it, so a library upgrade does not invalidate cached
stages, but a number that moved can be traced to the versions that made it. ``pyproject.toml`` declares
ranges; what was really installed is only known at run time, hence this module.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGE = "hodor-vos"

# Distributions whose versions can change a number: the model and its ops (torch, torchvision, timm), the
# array and image code (numpy, OpenCV, Pillow), the COCO masks (pycocotools).
KEY_DISTRIBUTIONS = (
    "torch",
    "torchvision",
    "timm",
    "numpy",
    "opencv-python-headless",
    "pillow",
    "pycocotools",
)


def package_version() -> str:
    """The installed version of hodor-vos, or ``"unknown"`` when run from a tree that was never installed."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def provenance() -> dict[str, str | None]:
    """``{"hodor-vos": ..., "python": ..., "torch": ..., ...}``; ``None`` for a distribution not installed.

    Metadata only (no imports), so it costs a few milliseconds and works without torch loaded.
    """
    versions: dict[str, str | None] = {PACKAGE: package_version(), "python": platform.python_version()}
    for name in KEY_DISTRIBUTIONS:
        versions[name] = _dist_version(name)
    return versions


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (checkpoints, data files), read in 16 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()
