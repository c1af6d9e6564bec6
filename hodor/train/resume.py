"""Where a run starts: continue its own checkpoints, restore an earlier definition's run, or start fresh.

An output folder belongs to one run definition (:mod:`hodor.train.definition`), recorded in its
``run.json``. On start (rank 0 only):

1. same definition -> resume from the newest checkpoint that loads (a step file or ``final.pth``; an
   unreadable one is removed with a line saying so), at or below ``iterations``;
2. otherwise the folder's files (and a copy of the training curves) move aside to
   ``<out>.previous-runs/<definition id>/``, beside the output, where git and DVC do not look;
3. a set-aside run of the new definition comes back (its final checkpoint: nothing to train; an
   unfinished one: resume);
4. else a fresh start. Only the newest ``keep_previous_runs`` set-aside runs are kept.

Every decision is one line through ``say``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hodor.atomic import atomic_directory, write_json, write_text
from hodor.errors import InputError
from hodor.train import checkpoint as ckpt
from hodor.train.definition import dependency_versions, differences

RUN_FILE = "run.json"
ASIDE_FILE = "set_aside.json"
ASIDE_SUFFIX = ".previous-runs"
LIVE_COPY = "live"


@dataclass(frozen=True)
class Start:
    """``step`` optimizer steps are done; ``checkpoint`` (a file name in the output folder) holds them,
    None for a fresh start; ``done``: nothing left to train."""

    step: int = 0
    checkpoint: str | None = None
    done: bool = False


def aside_root(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ASIDE_SUFFIX)


def read_run_file(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "id" in data else None


def choose_start(
    out_dir: Path,
    live_dir: Path | None,
    definition: dict[str, Any],
    def_id: str,
    *,
    iterations: int,
    keep_previous: int,
    resume: bool,
    say: Callable[[str], None],
) -> tuple[Start, dict[str, Any] | None]:
    """Decide the start (see the module docstring); returns it and the loaded checkpoint, if any."""
    for stale in out_dir.glob(".*.tmp") if out_dir.is_dir() else []:
        stale.unlink(missing_ok=True)  # a write interrupted by a kill: never a complete checkpoint
    current = read_run_file(out_dir)
    same = current is not None and current["id"] == def_id
    if resume and same:
        found = newest_loadable(out_dir, def_id, iterations, say)
        if found is not None:
            return found
    if _has_checkpoints(out_dir):
        say(_why_fresh(current, definition, def_id, resume))
        set_aside(
            out_dir, live_dir, current["id"] if current else time.strftime("unknown-%Y%m%d-%H%M%S"), say
        )
    found = restore(out_dir, live_dir, def_id, iterations, say) if resume and not same else None
    prune_aside(out_dir, keep_previous, say)
    if found is not None:
        return found
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"id": def_id, "definition": definition, "recorded": dependency_versions()}
    write_json(out_dir / RUN_FILE, record, indent=1)
    ckpt.fsync_dir(out_dir)
    say(f"fresh start (definition {def_id}) into {out_dir}")
    return Start(), None


def _has_checkpoints(folder: Path) -> bool:
    """Only checkpoints are worth setting aside (a run killed before its first one left just run.json)."""
    return folder.is_dir() and any(folder.glob("*.pth"))


def _why_fresh(current: dict | None, definition: dict, def_id: str, resume: bool) -> str:
    if not resume:
        return "--no-resume: starting fresh"
    if current is None:
        return "the output folder holds files of an unknown run definition: starting fresh"
    if current["id"] == def_id:
        return "no checkpoint of this run at or below `iterations` loads: starting fresh"
    diff = differences(current.get("definition", {}), definition)
    shown = "; ".join(diff[:4]) + (f"; +{len(diff) - 4} more" if len(diff) > 4 else "")
    return f"run definition changed ({shown}): starting fresh"


def newest_loadable(
    out_dir: Path, def_id: str, iterations: int, say: Callable[[str], None]
) -> tuple[Start, dict[str, Any]] | None:
    """The newest checkpoint at or below ``iterations`` that loads and carries ``def_id``."""
    candidates = [(ckpt.step_of(p), p) for p in ckpt.step_checkpoints(out_dir)]
    loaded: dict[Path, dict[str, Any]] = {}
    final = out_dir / ckpt.FINAL
    if final.is_file() and (payload := _try_load(final, say)) is not None:
        loaded[final] = payload
        candidates.append((int(payload["iterations"]), final))
    for step, path in sorted(candidates, key=lambda c: (c[0], c[1] == final), reverse=True):
        if step > iterations:
            continue
        payload = loaded.get(path) or _try_load(path, say)
        if payload is None:
            continue
        if payload.get("hodor", {}).get("definition_id") != def_id:
            say(f"skipping {path}: it belongs to another run definition")
            continue
        verb = "complete" if step == iterations else "resuming"
        say(f"{verb} from step {step} ({path})" + ("; nothing to train" if step == iterations else ""))
        return Start(step, path.name, done=step == iterations), payload
    return None


def _try_load(path: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Load, or remove a file that does not load (a crash before it reached the disk) with a line."""
    try:
        return ckpt.load(path)
    except InputError as err:
        say(f"skipping {path}: does not load ({err}); removed")
        path.unlink(missing_ok=True)
        return None


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def set_aside(out_dir: Path, live_dir: Path | None, def_id: str, say: Callable[[str], None]) -> Path:
    """Move ``out_dir``'s files (and a copy of ``live_dir``) to ``<out>.previous-runs/<def_id>/``."""
    target = aside_root(out_dir) / def_id
    if target.exists():  # the same definition was set aside before: the newer run replaces it
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(out_dir, target)  # one rename: nothing is copied, a kill leaves one of the two states
    if live_dir is not None and Path(live_dir).is_dir():
        shutil.copytree(live_dir, target / LIVE_COPY)
    write_json(target / ASIDE_FILE, {"set_aside_at": time.time(), "from": str(out_dir)})
    ckpt.fsync_dir(target.parent)
    steps = [ckpt.step_of(p) for p in ckpt.step_checkpoints(target)]
    final = " + final.pth" if (target / ckpt.FINAL).is_file() else ""
    say(f"the previous run ({def_id}: {len(steps)} step checkpoints{final}, {folder_bytes(target) / 2**20:.1f} "
        f"MiB) was moved aside to {target}")  # fmt: skip
    return target


def restore(
    out_dir: Path, live_dir: Path | None, def_id: str, iterations: int, say: Callable[[str], None]
) -> tuple[Start, dict[str, Any]] | None:
    """Bring back a set-aside run of ``def_id`` (with its curves) and pick its newest checkpoint."""
    source = aside_root(out_dir) / def_id
    if not source.is_dir() or (read_run_file(source) or {}).get("id") != def_id:
        return None
    if out_dir.is_dir():  # its checkpoints were set aside just before; at most a run.json is left
        shutil.rmtree(out_dir)
    live_copy = source / LIVE_COPY
    if live_dir is not None and live_copy.is_dir():
        with atomic_directory(live_dir) as tmp:
            shutil.copytree(live_copy, tmp, dirs_exist_ok=True)
    shutil.rmtree(live_copy, ignore_errors=True)
    (source / ASIDE_FILE).unlink(missing_ok=True)
    os.replace(source, out_dir)
    ckpt.fsync_dir(out_dir.parent)
    say(f"restored the earlier run of this definition ({def_id}) from {source}")
    return newest_loadable(out_dir, def_id, iterations, say)


def prune_aside(out_dir: Path, keep: int, say: Callable[[str], None]) -> None:
    """Delete all but the ``keep`` most recently set-aside runs, each with a line."""
    root = aside_root(out_dir)
    runs = [d for d in root.iterdir() if d.is_dir()] if root.is_dir() else []
    runs.sort(key=_aside_time, reverse=True)
    for old in runs[keep:]:
        size = folder_bytes(old)
        shutil.rmtree(old)
        say(f"deleted the set-aside run {old} ({size / 2**20:.1f} MiB; keep_previous_runs: {keep})")


def _aside_time(folder: Path) -> float:
    try:
        return float(json.loads((folder / ASIDE_FILE).read_text())["set_aside_at"])
    except (OSError, ValueError, KeyError):
        return 0.0


def cut_curves(live_dir: Path, step: int) -> None:
    """Drop every dvclive curve row after ``step`` (logged by a run that died before its next
    checkpoint) and any half-written row, so the resumed run logs each step exactly once."""
    plots = Path(live_dir) / "plots" / "metrics"
    for tsv in sorted(plots.rglob("*.tsv")) if plots.is_dir() else []:
        lines = tsv.read_text().splitlines()
        if not lines:
            continue
        header, rows = lines[0], lines[1:]
        columns = header.split("\t")
        kept = [r for r in rows if _row_step(r, columns) <= step]
        if len(kept) != len(rows):
            write_text(tsv, "\n".join([header, *kept]) + "\n")


def _row_step(row: str, columns: list[str]) -> float:
    """The row's step, or infinity for a row cut short by a kill."""
    cells = row.split("\t")
    try:
        if len(cells) == len(columns):
            float(cells[-1])
            return int(cells[columns.index("step")])
    except ValueError:
        pass
    return float("inf")
