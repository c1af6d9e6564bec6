"""One content digest of a raw folder, so that DVC walks a big folder once instead of once per stage.

DVC checks a folder dependency file by file (a state lookup per file, ~75 us each on the development
machine; 120,000 files take ~9 s) and does it again for every stage that lists the folder: it shares
nothing between stages. The DAVIS frames were a dependency of 6 stages (2 conversions, 4 inferences),
the DAVIS ground truth of 7. The ``digest`` stage of ``dvc.yaml`` depends on such a folder once and writes
its digest; the other stages depend on that small file. DVC reruns the digest stage only when the
folder's content changed, and then the digest changes too, so every reader reruns as before.

The digest covers the relative path and the bytes of every file (symbolic links followed), in sorted
order; it does not depend on where the folder lives, nor on modification times.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hodor.errors import InputError

BLOCK = 1 << 20  # bytes read at a time


@dataclass(frozen=True)
class TreeDigest:
    files: int
    bytes: int
    md5: str  # over "relative/path\0<size>\0<md5 of the file>\n" of every file, sorted by path


def tree_files(root: Path) -> list[Path]:
    """Every file below ``root`` (symbolic links followed), sorted by relative path."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: folder not found; check the data roots in params.yaml (data.*_root)")
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        found += [Path(folder, name) for name in files]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def file_md5(path: Path) -> tuple[int, str]:
    """(size in bytes, md5 hex) of one file."""
    md5, size = hashlib.md5(usedforsecurity=False), 0
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            md5.update(block)
            size += len(block)
    return size, md5.hexdigest()


def tree_digest(root: Path, on_file: Callable[[], None] | None = None) -> TreeDigest:
    """The digest of every file below ``root``; ``on_file`` is called after each (a progress bar)."""
    root = Path(root)
    total, size_sum = hashlib.md5(usedforsecurity=False), 0
    files = tree_files(root)
    for path in files:
        size, digest = file_md5(path)
        total.update(f"{path.relative_to(root).as_posix()}\0{size}\0{digest}\n".encode())
        size_sum += size
        if on_file is not None:
            on_file()
    return TreeDigest(len(files), size_sum, total.hexdigest())
