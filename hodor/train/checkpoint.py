"""Training checkpoints: atomic, resumable bit-exactly, readable by the official code.

Layout (official keys first, ours under ``hodor``)::

    {'model': state_dict,                       # official names for the paper variant, ours otherwise
     'optimizers_and_lr_schedulers': [(optimizer_state, [scheduler_state])],
     'iterations': n,                           # optimizer steps done
     'hodor': {'format': 1, 'regime', 'key_layout': 'official'|'ours', 'model_params', 'train_params',
               'seed', 'global_batch', 'data_position', 'scaler', 'rng', 'metrics',
               'versions'}}                     # hodor.provenance: information only, never compared

Everything is tensors or plain Python types so that ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hodor.atomic import atomic_path
from hodor.errors import InputError
from hodor.provenance import provenance

FORMAT = 1
STEP_FILE = re.compile(r"^(\d{6,})\.pth$")
# Params that may change between a run and its resumption without changing the computation.
RESUMABLE_CHANGES = {"save_interval", "keep_last", "log_interval", "num_workers", "iterations"}


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


def save(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (temp file in the same folder, then rename), with the library versions."""
    payload = {**payload, "hodor": {**payload.get("hodor", {}), "versions": provenance()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


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


def prune(folder: Path, keep_last: int) -> None:
    for old in step_checkpoints(folder)[:-keep_last]:
        old.unlink(missing_ok=True)


def check_compatible(path: Path, saved: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse to resume from a checkpoint of another configuration (before any training work)."""
    meta = saved.get("hodor")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path}: not a resumable checkpoint of this code (no 'hodor' metadata)")
    diffs = []
    for key in ("regime", "seed", "global_batch", "model_params"):
        if meta.get(key) != expected[key]:
            diffs.append(f"{key}: checkpoint {meta.get(key)!r} vs now {expected[key]!r}")
    old, new = meta.get("train_params", {}), expected["train_params"]
    for key in sorted(set(old) | set(new)):
        if key not in RESUMABLE_CHANGES and old.get(key) != new.get(key):
            diffs.append(f"train params {key}: checkpoint {old.get(key)!r} vs now {new.get(key)!r}")
    if diffs:
        raise InputError(
            f"{path}: cannot resume, the checkpoint comes from another configuration ("
            + "; ".join(diffs)
            + "). Restore those params, or train into a fresh --out folder without --resume."
        )
