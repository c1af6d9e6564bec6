"""``hodor infer``: propagate reference masks through a standardized-JSON dataset of a workspace.

Example (the official README's DAVIS command, in our terms)::

    hodor infer --checkpoint workspace/checkpoints/static_image/final.pth --dataset davis_val \\
        --workspace workspace --out davis_inference_output --temporal-window 7 --min-image-dim 512

Settings come from ``--params params.yaml`` (section ``infer`` + top-level ``temporal_window`` /
``min_image_dim``, and section ``model``) when given, else from the paper's defaults and the model params
recorded in the checkpoint; the flags override either.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import torch

from hodor.config import load_section
from hodor.errors import InputError
from hodor.infer.params import InferParams, load_infer_params

# The official inference defaults (README command; static-image config's MAX/MIN ratio 864/448).
PAPER_DEFAULTS = InferParams(
    temporal_window=7, min_image_dim=512, max_dim_ratio=864 / 448, backbone_batch_size=16, amp="none"
)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``hodor infer`` and ``hodor segment``."""
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="model weights (.pth, ours or official)"
    )
    parser.add_argument("--params", type=Path, help="params.yaml to read infer/model settings from")
    parser.add_argument("--temporal-window", type=int, help="frames of descriptor history (official -t)")
    parser.add_argument("--min-image-dim", type=int, help="short side of the network input")
    parser.add_argument("--max-dim-ratio", type=float, help="max image dim = round(min dim x ratio)")
    parser.add_argument("--backbone-batch-size", type=int, help="frames per backbone batch")
    parser.add_argument("--amp", choices=["none", "bf16", "fp16"], help="autocast dtype for the network")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (auto: cuda if available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--dataset", required=True, help="davis_val, davis_testdev, youtube_vos_2019_val, ..."
    )
    parser.add_argument("--workspace", type=Path, default=Path("workspace"), help="HODOR workspace folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seqs", nargs="+", help="only these sequence ids")


def resolve_settings(args: argparse.Namespace):
    """(InferParams, ModelParams | None, torch.device) from --params and the override flags."""
    from hodor.model import ModelParams

    params = load_infer_params(args.params) if args.params else PAPER_DEFAULTS
    model_params = load_section(ModelParams, args.params, "model") if args.params else None
    overrides = {
        "temporal_window": args.temporal_window,
        "min_image_dim": args.min_image_dim,
        "max_dim_ratio": args.max_dim_ratio,
        "backbone_batch_size": args.backbone_batch_size,
        "amp": args.amp,
    }
    try:
        params = dataclasses.replace(params, **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as err:
        raise InputError(f"bad flag value: {err}") from None
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    return params, model_params, torch.device(device)


def run(args: argparse.Namespace) -> int:
    from hodor.infer.run import infer_workspace

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params, model_params, device = resolve_settings(args)
    summary = infer_workspace(
        args.checkpoint,
        args.dataset,
        args.workspace,
        args.out,
        params,
        model_params,
        device,
        sequences=args.seqs,
    )
    print(
        f"hodor infer: {summary.sequences} sequences ({summary.skipped} already done), {summary.frames} frames, "
        f"{summary.seconds:.1f} s, {summary.fps:.2f} fps -> {args.out}"
    )
    return 0
