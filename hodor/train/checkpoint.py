"""Training checkpoints: durable, resumable bit-exactly, readable by the official code.

Layout (official keys first, ours under ``hodor``)::

    {'model': state_dict,                       # official names for the paper variant, ours otherwise
     'optimizers_and_lr_schedulers': [(optimizer_state, [scheduler_state])],
     'iterations': n,                           # optimizer steps done
     'hodor': {'format': 2, 'regime', 'key_layout': 'official'|'ours', 'model_params', 'train_params',
               'seed', 'global_batch', 'data_position', 'scaler', 'rng', 'metrics',
               'definition', 'definition_id', 'live_window',
               'versions'}}                     # hodor.provenance: information only, never compared

Everything is tensors or plain Python types so that ``torch.load(weights_only=True)`` reads it.

A write survives a kill or a machine crash at any point: the bytes go to a temporary sibling, which is
fsynced, then renamed over the target, then the folder is fsynced (so the rename itself is on disk). At
any moment the target name holds either the previous complete file or the new complete one.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hodor.atomic import atomic_path
from hodor.errors import InputError
from hodor.provenance import provenance

FORMAT = 2
STEP_FILE = re.compile(r"^(\d{6,})\.pth$")
FINAL = "final.pth"
# errno values of a full file system (no space / quota exceeded)
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
# Phases of a checkpoint write reported to ``on_phase`` (tests kill the process at each of them):
# "begin" (nothing written), "partial" (first bytes in the temporary file), "written" (all bytes, not
# yet fsynced), "synced" (temporary file durable, not renamed), "renamed" (in place, folder not fsynced).
PHASES = ("begin", "partial", "written", "synced", "renamed")


def rng_state() -> dict[str, Any]:
    """torch / numpy / python global RNG states as tensors and plain types."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, state, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(state, dtype=torch.int64), "gauss": gauss},
    }  # fmt: skip


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))  # fmt: skip
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))


class DiskFullError(InputError):
    """The file system filled up while a checkpoint was written; the previous files are untouched."""


class _ReportingWriter:
    """File wrapper that calls ``on_first_write`` once, after the first bytes went out (for tests)."""

    def __init__(self, f, on_first_write: Callable[[], None]) -> None:
        self.f, self.on_first_write, self.started = f, on_first_write, False

    def write(self, data) -> int:
        written = self.f.write(data)
        if not self.started:
            self.started = True
            self.on_first_write()
        return written

    def flush(self) -> None:
        self.f.flush()

    def tell(self) -> int:
        return self.f.tell()

    def seek(self, *args) -> int:
        return self.f.seek(*args)


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new or renamed file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_full(err: BaseException) -> bool:
    """torch.save wraps the OSError of a failed write in a RuntimeError: look along the chain."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def save(path: Path, payload: dict[str, Any], on_phase: Callable[[str], None] | None = None) -> None:
    """Write durably and atomically, with the library versions; ``on_phase(phase)`` is called at each of :data:`PHASES`.

    Raises :class:`DiskFullError` (the target and every other file unchanged) when the disk fills up.
    """
    report = on_phase or (lambda phase: None)
    path = Path(path)
    payload = {**payload, "hodor": {**payload.get("hodor", {}), "versions": provenance()}}
    report("begin")
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                torch.save(payload, _ReportingWriter(f, lambda: report("partial")))
                report("written")
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(path.parent)
            report("synced")
        report("renamed")
        fsync_dir(path.parent)
    except (OSError, RuntimeError) as err:
        if not _disk_full(err):
            raise
        free = shutil.disk_usage(path.parent).free
        raise DiskFullError(
            f"{path}: the disk is full ({free / 2**20:.0f} MiB free on that file system) while saving "
            f"this checkpoint; nothing was replaced, the earlier checkpoints in {path.parent} are intact. "
            "Free some space and run the same command again: it resumes from the newest checkpoint."
        ) from None


def load(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint not found") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise InputError(f"{path}: not a readable checkpoint ({err}); delete it or pick another") from None
    if not isinstance(state, dict) or "model" not in state:
        raise InputError(f"{path}: not a HODOR checkpoint (no 'model' entry)")
    return state


def step_checkpoints(folder: Path) -> list[Path]:
    """``NNNNNN.pth`` files of ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def prune(folder: Path, keep_last: int, up_to: int) -> None:
    """Keep the ``keep_last`` newest ``NNNNNN.pth`` at or below step ``up_to``.

    Later ones (a run resumed below them after ``iterations`` shrank) belong to the same run definition
    and stay: a later, longer run can resume from them."""
    mine = [p for p in step_checkpoints(folder) if step_of(p) <= up_to]
    for old in mine[:-keep_last]:
        old.unlink(missing_ok=True)


def step_of(path: Path) -> int:
    """Step number of an ``NNNNNN.pth`` name."""
    match = STEP_FILE.match(path.name)
    if match is None:
        raise ValueError(f"{path}: not a step checkpoint name")
    return int(match.group(1))
