"""``hodor infer``: propagate reference masks through a standardized-JSON dataset of a workspace.

Example (the official README's DAVIS command, in our terms)::

    hodor infer --checkpoint workspace/checkpoints/static_image/final.pth --dataset davis_val \\
        --workspace workspace --out davis_inference_output --temporal-window 7 --min-image-dim 512

Several processes share the sequences (balanced by frame count) into one output tree, one per GPU::

    torchrun --nproc_per_node=8 -m hodor.cli infer --checkpoint ... --dataset youtube_vos_2019_val ...
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 -m hodor.cli infer ...

(several nodes: ``--out`` on a shared file system). Settings come from ``--params params.yaml`` (section ``infer`` + top-level ``temporal_window`` /
``min_image_dim``, and section ``model``) when given, else from the paper's defaults and the model params
recorded in the checkpoint; the flags override either.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from hodor.config import load_section
from hodor.errors import InputError
from hodor.infer.params import InferParams, load_infer_params

if TYPE_CHECKING:
    from hodor.infer.dataset import InferSummary

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
    from hodor.infer.dataset import GATHER_TIMEOUT
    from hodor.infer.run import infer_workspace
    from hodor.train.distributed import context_from_env, setup, teardown

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params, model_params, device = resolve_settings(args)
    ctx = context_from_env(os.environ, device.type)  # torchrun's RANK / WORLD_SIZE; one process without
    setup(ctx, GATHER_TIMEOUT)
    try:
        summary = infer_workspace(
            args.checkpoint,
            args.dataset,
            args.workspace,
            args.out,
            params,
            model_params,
            ctx.device if ctx.distributed else device,
            sequences=args.seqs,
            ctx=ctx,
        )
    finally:
        teardown(ctx)
    if ctx.is_main:
        print(summary_line("hodor infer", summary, args.out))
    return 0


def summary_line(prefix: str, summary: InferSummary, out: Path) -> str:
    """The one line a run ends with: sequences, frames, seconds, fps (per process and all ranks)."""
    ranks = f", {summary.ranks} ranks: {summary.total_fps:.2f} fps together" if summary.ranks > 1 else ""
    return (
        f"{prefix}: {summary.sequences} sequences ({summary.skipped} already done), {summary.frames} frames, "
        f"{summary.seconds:.1f} s, {summary.fps:.2f} fps{ranks} -> {out}"
    )
