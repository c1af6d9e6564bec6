"""Checkpoints: the official <-> our state-dict key mapping, safe loading, pretrained backbones.

The only module of ``hodor.model`` that reads files. Official HODOR checkpoints (``{'model': state, ...}``
with official names, hodor-model.md §12) and ours (``{'model': state, ...}`` with our names) both load
through :func:`load_model_weights`; :func:`ours_to_official` exports ours back to the official layout.

Naming differences (everything else, i.e. ``feature_extractor.norm_layers``, ``encoder.*`` and ``decoder.*``,
is identical):

==============================================================  ==================================================
official                                                        ours
==============================================================  ==================================================
``feature_extractor.bb_fpn.0.X``                                ``feature_extractor.backbone.X``
``...bb_fpn.0.layers.{s}.downsample.X`` (merges out of s)       ``...backbone.layers.{s+1}.downsample.X``
``...bb_fpn.0.layers.{s}.blocks.{j}.attn.relative_position_index``  (not stored: timm recomputes it)
``feature_extractor.bb_fpn.1.lateral_convs.{l}.conv.X``         ``feature_extractor.fpn.lateral.{l}.X``
``feature_extractor.bb_fpn.1.fpn_convs.{l}.conv.X``             ``feature_extractor.fpn.output.{l}.X``
==============================================================  ==================================================
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from timm.models.swin_transformer import get_relative_position_index
from torch import Tensor, nn

from hodor.errors import InputError

_OFF_SWIN = "feature_extractor.bb_fpn.0."
_OFF_FPN = "feature_extractor.bb_fpn.1."
_OUR_SWIN = "feature_extractor.backbone."
_OUR_FPN = "feature_extractor.fpn."
_SHARED = ("feature_extractor.norm_layers.", "encoder.", "decoder.")
_REL_INDEX = re.compile(r"layers\.\d+\.blocks\.\d+\.attn\.relative_position_index$")
_WINDOW = 7

# Types a checkpoint may carry besides tensors, containers and Python numbers. Official checkpoints
# (TrainerBase.backup_session: model, optimizer/scheduler state dicts, the TrainingLogger's plain-number
# state, iterations) need none of them; numpy scalars/arrays are allowed for loggers that store them.
# Everything else is refused.
_SAFE_GLOBALS = [
    np.dtype,
    np.ndarray,
    np.dtypes.Float64DType,
    np.dtypes.Float32DType,
    np.dtypes.Int64DType,
    np._core.multiarray.scalar,
    np._core.multiarray._reconstruct,
]


def _swin_official_to_ours(rest: str) -> str:
    m = re.match(r"layers\.(\d+)\.downsample\.(.*)$", rest)
    return f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}" if m else rest


def _swin_ours_to_official(rest: str) -> str:
    m = re.match(r"layers\.(\d+)\.downsample\.(.*)$", rest)
    return f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}" if m else rest


def official_to_ours(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Official state dict -> our names. The int64 ``relative_position_index`` buffers are checked against
    the recomputed 7x7 index and dropped. Unknown official keys raise :class:`InputError`."""
    out: dict[str, Tensor] = {}
    expected_index = get_relative_position_index(_WINDOW, _WINDOW)
    for key, value in state.items():
        if key.startswith(_OFF_SWIN):
            rest = key[len(_OFF_SWIN) :]
            if _REL_INDEX.search(rest):
                if value.shape != expected_index.shape or not torch.equal(value.long(), expected_index):
                    raise InputError(f"checkpoint entry {key}: not the 7x7 window index this model computes")
                continue
            out[_OUR_SWIN + _swin_official_to_ours(rest)] = value
        elif key.startswith(_OFF_FPN):
            m = re.match(r"(lateral_convs|fpn_convs)\.(\d+)\.conv\.(weight|bias)$", key[len(_OFF_FPN) :])
            if not m:
                raise InputError(f"checkpoint entry {key}: not an official FPN parameter")
            kind = "lateral" if m.group(1) == "lateral_convs" else "output"
            out[f"{_OUR_FPN}{kind}.{m.group(2)}.{m.group(3)}"] = value
        elif key.startswith(_SHARED):
            out[key] = value
        else:
            raise InputError(f"checkpoint entry {key}: not a name of the official HODOR model")
    return out


def ours_to_official(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Our state dict (paper variant) -> official names, adding the ``relative_position_index`` buffers
    (int64 [49, 49]) right after each block's bias table, so the official code loads it strictly. The
    entries come out in the official state-dict order."""
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if key.startswith(_OUR_SWIN):
            rest = _swin_ours_to_official(key[len(_OUR_SWIN) :])
            if rest.startswith("body."):
                raise InputError(
                    f"{key}: a timm CNN backbone has no official HODOR equivalent (variant 'quick')"
                )
            out[_OFF_SWIN + rest] = value
            if rest.endswith("attn.relative_position_bias_table"):
                index_key = _OFF_SWIN + rest.replace(
                    "relative_position_bias_table", "relative_position_index"
                )
                out[index_key] = get_relative_position_index(_WINDOW, _WINDOW)
        elif key.startswith(_OUR_FPN):
            kind, level, leaf = key[len(_OUR_FPN) :].split(".")
            name = "lateral_convs" if kind == "lateral" else "fpn_convs"
            out[f"{_OFF_FPN}{name}.{level}.conv.{leaf}"] = value
        elif key.startswith(_SHARED):
            out[key] = value
        else:
            raise InputError(f"state entry {key}: not a name of our HODOR model")
    return _reduction_before_norm(out)


def _reduction_before_norm(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Official patch merging declares ``reduction`` before ``norm`` (timm: the reverse); follow the
    official key order so an exported state dict lists its entries exactly like an official one."""
    out: dict[str, Tensor] = {}
    held: dict[str, Tensor] = {}
    for key, value in state.items():
        reduction = key.split(".downsample.norm.")[0] + ".downsample.reduction.weight"
        if ".downsample.norm." in key and reduction not in out:
            held[key] = value
            continue
        out[key] = value
        if key.endswith(".downsample.reduction.weight"):
            out.update(held)
            held = {}
    out.update(held)
    return out


def load_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` on the CPU, with a small allow-list of harmless types.

    A file that needs any other class unpickled is refused with :class:`InputError` naming those classes.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint file not found")
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # noqa: BLE001 - only used to improve the message
            needed = []
        raise InputError(
            f"{path}: refused to load, it needs arbitrary objects unpickled ({', '.join(needed) or err}). "
            "Only tensors, containers and plain numbers are loaded; re-save the checkpoint with just its "
            "state dicts (e.g. {'model': model.state_dict()})."
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise InputError(f"{path}: not a readable PyTorch checkpoint ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a dict checkpoint, got {type(data).__name__}")
    return data


def _state_from(data: dict[str, Any]) -> dict[str, Tensor]:
    state = data.get("model", data)
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise InputError(
            "checkpoint has no state dict (expected {'model': {name: tensor}} or {name: tensor})"
        )
    if state and all(k.startswith("module.") for k in state):  # saved from a DistributedDataParallel wrapper
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def is_official_state(state: dict[str, Tensor]) -> bool:
    """True for official names (``feature_extractor.bb_fpn.*``)."""
    return any(k.startswith("feature_extractor.bb_fpn.") for k in state)


def _check_and_load(module: nn.Module, state: dict[str, Tensor], what: str) -> None:
    """Strict load with every key and shape checked, errors naming the offending entries."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"{label} ({len(keys)}): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        ]
        raise InputError(f"{what} does not fit the model (check model.variant): " + "; ".join(parts))
    module.load_state_dict(state, strict=True)


def load_model_weights(model: nn.Module, path_or_state: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Load our or an official checkpoint (file path, checkpoint dict or bare state dict) into ``model``.

    Returns the checkpoint dict (for ``iterations``, ``hodor`` metadata, ...)."""
    if isinstance(path_or_state, (str, Path)):
        data, what = load_checkpoint_file(path_or_state), str(path_or_state)
    else:
        data, what = path_or_state, "checkpoint"
    state = _state_from(data)
    if is_official_state(state):
        state = official_to_ours(state)
    _check_and_load(model, state, what)
    return data


def load_pretrained_backbone(model: nn.Module, path: str | Path) -> None:
    """Load an mmdetection Swin-T + FPN checkpoint (``{'state_dict': {'backbone.*', 'neck.*', ...}}``, e.g.
    ``pretrained_backbones/swin_tiny_pretrained.pth``) strictly into the backbone and FPN of ``model``."""
    data = load_checkpoint_file(path)
    raw = data.get("state_dict", data)
    official = {_OFF_SWIN + k[len("backbone.") :]: v for k, v in raw.items() if k.startswith("backbone.")}
    official.update({_OFF_FPN + k[len("neck.") :]: v for k, v in raw.items() if k.startswith("neck.")})
    if not official:
        raise InputError(
            f"{path}: no 'backbone.*' / 'neck.*' entries; expected an mmdetection Swin-T checkpoint"
        )
    ours = official_to_ours(official)
    prefix = "feature_extractor."
    fe = model.feature_extractor
    sub = {k[len(prefix) :]: v for k, v in ours.items()}
    wanted = {k for k in fe.state_dict() if k.startswith(("backbone.", "fpn."))}
    state = {**{k: v for k, v in fe.state_dict().items() if k not in wanted}, **sub}
    _check_and_load(fe, state, str(path))
