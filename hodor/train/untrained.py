"""The untrained baseline: the model exactly as pretraining starts it, saved as a checkpoint.

Inference and scoring of this checkpoint show what the architecture does before it has learned anything
(its reference-mask encoding alone); every trained figure is read against it and the copy baseline.
The weights are those :func:`hodor.train.run.train` draws before its first step (``torch.manual_seed(seed)``
then :func:`hodor.model.build_model`), so the checkpoint is the pretraining run's step 0.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hodor.config import to_dict
from hodor.model import ModelParams, build_model
from hodor.train import checkpoint as ckpt

REGIME = "untrained"


def save_untrained(model_params: ModelParams, seed: int, out_dir: Path) -> Path:
    """Write ``<out_dir>/final.pth`` (ours key layout, ``hodor.model_params`` recorded); returns its path."""
    torch.manual_seed(seed)  # the same draw as the first thing train() does
    model = build_model(model_params)
    payload = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "iterations": 0,
        "hodor": {
            "format": ckpt.FORMAT,
            "regime": REGIME,
            "seed": seed,
            "key_layout": "ours",
            "model_params": to_dict(model_params),
        },
    }
    path = Path(out_dir) / ckpt.FINAL
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt.save(path, payload)
    return path
