"""The entry points' shared part: load a checkpoint into the right model, run a workspace dataset."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from hodor.config import ParamsError, from_dict
from hodor.data import workspace
from hodor.data.standard_json import load_video_dataset
from hodor.errors import InputError
from hodor.infer.dataset import InferSummary, file_provenance, infer_dataset
from hodor.infer.params import InferParams
from hodor.infer.writers import dataset_kind
from hodor.model import ModelParams, build_model
from hodor.model.checkpoint import is_official_state, load_checkpoint_file, load_model_weights
from hodor.train.distributed import DistContext


def _checkpoint_model_params(data: dict[str, Any], path: Path) -> ModelParams | None:
    meta = data.get("hodor")
    raw = meta.get("model_params") if isinstance(meta, dict) else None
    if raw is None:
        return None  # an official checkpoint: no record of its config beyond the weights
    try:
        return from_dict(ModelParams, raw, source=f"{path} [hodor.model_params]")
    except ParamsError as err:
        raise InputError(f"{path}: its recorded model params are not readable by this code: {err}") from None


def load_model(
    checkpoint: Path, model_params: ModelParams | None, device: torch.device | str
) -> torch.nn.Module:
    """Build the model ``model_params`` describe (default: what the checkpoint records) and load the weights.

    A checkpoint made with other model params, or whose weights do not fit, is an :class:`InputError`
    naming the differing keys.
    """
    checkpoint = Path(checkpoint)
    data = load_checkpoint_file(checkpoint)
    recorded = _checkpoint_model_params(data, checkpoint)
    if model_params is None:
        state = data.get("model", {})
        if recorded is None and not (isinstance(state, dict) and is_official_state(state)):
            raise InputError(f"{checkpoint}: records no model params; pass --params with its model section")
        # An official checkpoint (official parameter names, no record of ours) is the paper model.
        model_params = recorded or ModelParams(variant="paper")
    elif recorded is not None and recorded.resolved() != model_params.resolved():
        theirs, ours = dataclasses.asdict(recorded.resolved()), dataclasses.asdict(model_params.resolved())
        diff = ", ".join(
            f"model.{k}: checkpoint {theirs[k]!r} vs params {ours[k]!r}" for k in ours if theirs[k] != ours[k]
        )
        raise InputError(
            f"{checkpoint}: was trained with other model params than the config ({diff}); use the params the "
            "checkpoint was trained with, or the checkpoint the params describe"
        )
    model = build_model(model_params)
    try:
        load_model_weights(model, data)
    except InputError as err:
        raise InputError(f"{checkpoint}: {err}") from None
    return model.to(device).eval()


def infer_workspace(
    checkpoint: Path,
    dataset_name: str,
    workspace_dir: Path,
    out_dir: Path,
    params: InferParams,
    model_params: ModelParams | None,
    device: torch.device | str = "cpu",
    *,
    sequences: list[str] | None = None,
    progress: bool = True,
    ctx: DistContext | None = None,
) -> InferSummary:
    """Run ``checkpoint`` on ``workspace/dataset_json_annotations/<dataset_name>.json`` into ``out_dir``.

    ``ctx``: this process's rank under torchrun (its share of the sequences; see ``infer_dataset``).
    """
    kind = dataset_kind(dataset_name)
    json_file = workspace.json_path(workspace_dir, dataset_name)
    if not json_file.is_file():
        raise InputError(
            f"{json_file}: dataset JSON not found; run `hodor convert` (or the convert stage) first"
        )
    dataset = load_video_dataset(json_file, workspace.image_root(workspace_dir, dataset_name))
    model = load_model(checkpoint, model_params, device)
    return infer_dataset(
        model,
        dataset,
        out_dir,
        params,
        kind,
        device,
        provenance=file_provenance(checkpoint),
        sequences=sequences,
        progress=progress,
        ctx=ctx,
    )
