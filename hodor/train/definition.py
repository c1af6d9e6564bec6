"""The run definition: everything that changes what a training run computes, and nothing else.

Two runs with the same definition produce the same checkpoints step for step, so one may continue the
other. It holds

* ``training_format``: :data:`TRAINING_FORMAT_VERSION`, raised by hand whenever a code change alters
  results (a different augmentation, loss or sample order); checkpoints of older versions are then set
  aside instead of being continued with different code;
* the regime, the seed, the model params and the training params except the operational ones in
  :data:`NOT_IN_DEFINITION` (``iterations`` among them: sample ``i`` depends only on the seed and ``i``,
  so a longer run continues the same sequence and ``iterations`` may grow on resume);
* the sha256 of every training data JSON, of the ``--init`` weights and of the ``--backbone`` file.

Versions of the dependencies (torch, numpy, ...) are recorded beside it (:func:`dependency_versions`), not
part of it: an upgrade should not throw away days of training.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from hodor.config import to_dict
from hodor.model import ModelParams
from hodor.provenance import file_sha256
from hodor.train.params import TrainParams

# Raise by hand when a change of the training code alters results (see the module docstring).
TRAINING_FORMAT_VERSION = 1
# Training params that change how a run is carried out or how long, not what each step computes.
NOT_IN_DEFINITION = frozenset(
    {"iterations", "save_interval", "keep_last", "keep_previous_runs", "log_interval", "num_workers"}
)


def weights_sha256(state: dict[str, torch.Tensor]) -> str:
    """Hash of a state dict's names, dtypes, shapes and values (not of the file around them), so that
    the same weights saved twice (other metadata, another pickle) give the same hash."""
    digest = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def run_definition(
    regime: str,
    *,
    seed: int,
    model_params: ModelParams,
    params: TrainParams,
    data_files: list[Path],
    init_weights: dict[str, torch.Tensor] | None,
    backbone: Path | None,
) -> dict[str, Any]:
    """The definition as plain JSON-able data (see the module docstring)."""
    train = {k: v for k, v in to_dict(params).items() if k not in NOT_IN_DEFINITION}
    return {
        "training_format": TRAINING_FORMAT_VERSION,
        "regime": regime,
        "seed": seed,
        "model": to_dict(model_params),
        "train": train,
        "data": {Path(p).name: file_sha256(Path(p)) for p in data_files},
        "init": None if init_weights is None else weights_sha256(init_weights),
        "backbone": None if backbone is None else file_sha256(Path(backbone)),
    }


def definition_id(definition: dict[str, Any]) -> str:
    """12 hex digits naming a definition (folder names, log lines)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs (for the line saying why a run starts fresh)."""
    found = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{name}.")
        elif a != b:
            found.append(f"{name}: {_short(a)} -> {_short(b)}")
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text[:12] + "…" if len(text) > 16 and isinstance(value, str) else text


def dependency_versions() -> dict[str, str]:
    """Versions of what computes the results; recorded with a run, not part of its definition."""
    found = {"python": platform.python_version()}
    for name in ("torch", "torchvision", "timm", "numpy", "opencv-python-headless", "opencv-python"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
