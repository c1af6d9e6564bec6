"""``hodor train --regime {static,sparse,dense}``: one training run, single process or under torchrun.

    hodor train --regime static --params params.yaml --workspace workspace \\
        --out workspace/checkpoints/static_image --live dvclive/static_image
    torchrun --nproc_per_node=2 -m hodor.cli train --regime sparse ... --init .../static_image/final.pth

Reads the params sections ``model``, ``seed`` and ``pretrain`` (static) or ``finetune.<regime>``.
Resumes by itself from the newest checkpoint of the same run definition in ``--out`` (one line says from
which step); ``--no-resume`` starts fresh. See :mod:`hodor.train.resume`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hodor.config import ParamsError, load_section, read_yaml
from hodor.model import ModelParams, build_model
from hodor.train.distributed import context_from_env
from hodor.train.loop import Hook
from hodor.train.params import REGIME_DIRS, REGIMES, load_train_params
from hodor.train.run import TrainSummary, train


def read_seed(params_path: Path) -> int:
    """The top-level ``seed`` of the params file."""
    seed = read_yaml(params_path).get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParamsError(f"{params_path}: seed: expected a non-negative integer, got {seed!r}")
    return seed


def add_arguments(parser: argparse.ArgumentParser, *, regime: str | None = None) -> None:
    """Shared by ``hodor train`` and the stages (which fix ``regime`` or offer only the video ones)."""
    if regime is None:
        parser.add_argument("--regime", required=True, choices=REGIMES)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument("--workspace", type=Path, default=Path("workspace"), help="HODOR workspace folder")
    parser.add_argument(
        "--out", type=Path, help="checkpoint folder (default workspace/checkpoints/<regime dir>)"
    )
    parser.add_argument("--live", type=Path, help="dvclive folder for metrics (default: none)")
    parser.add_argument("--init", type=Path, help="start from these weights (ours or an official checkpoint)")
    parser.add_argument("--backbone", type=Path, help="mmdetection Swin-T+FPN checkpoint (paper pretraining)")
    parser.add_argument(
        "--no-resume", action="store_true",
        help="start fresh even if --out holds checkpoints of the same run definition (they are set aside)",
    )  # fmt: skip
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_from_args(args: argparse.Namespace, regime: str, hooks: list[Hook] | None = None) -> TrainSummary:
    """Load params, work out rank/device from the torchrun environment, train. ``hooks``: extra training
    hooks (tests stop the process at chosen points through them)."""
    model_params = load_section(ModelParams, args.params, "model")
    train_params = load_train_params(args.params, regime)
    seed = read_seed(args.params)
    ctx = context_from_env(os.environ, args.device)
    out = args.out or args.workspace / "checkpoints" / REGIME_DIRS[regime]
    summary = train(
        regime, model_params=model_params, params=train_params, seed=seed, workspace=args.workspace,
        out_dir=out, live_dir=args.live, init=args.init, backbone=args.backbone, resume=not args.no_resume,
        ctx=ctx, hooks=hooks, progress=not args.no_progress and ctx.is_main,
    )  # fmt: skip
    if ctx.is_main:
        print(summary.line())
    return summary


def import_official(args: argparse.Namespace, regime: str) -> bool:
    """For the stages: when params ``official.<regime dir>`` names a checkpoint (the official workspace
    zip), check it against the ``model`` section and place it as ``final.pth`` instead of training."""
    from hodor.official_workspace import OfficialParams, import_checkpoint, write_imported_metrics

    source = load_section(OfficialParams, args.params, "official").checkpoint_for(REGIME_DIRS[regime])
    if source is None:
        return False
    out = args.out or args.workspace / "checkpoints" / REGIME_DIRS[regime]
    model = build_model(load_section(ModelParams, args.params, "model"))
    final = import_checkpoint(source, out, model)
    if args.live is not None:
        write_imported_metrics(args.live, source)
    print(f"{regime}: imported {source} -> {final} (params official.{REGIME_DIRS[regime]}); no training")
    return True


def run(args: argparse.Namespace) -> int:
    run_from_args(args, args.regime)
    return 0
