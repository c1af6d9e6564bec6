"""Stage ``infer@<regime>-<dataset>``: segment a workspace dataset with a trained checkpoint.

    python stages/infer.py --params params.yaml --checkpoint workspace/checkpoints/static_image/final.pth \
        --dataset davis_val --workspace workspace --out outputs/static_image/davis_val

Reads params: top-level ``temporal_window``, ``min_image_dim``; sections ``infer`` and ``model``.
Writes ``<out>/`` (DAVIS PNGs, or YouTube-VOS ``Annotations/`` + ``Annotations.zip``) and
``<out>/inference_summary.json`` (fps, checkpoint sha256, settings). Resumable: finished sequences of an
interrupted run with the same checkpoint and params are skipped.
With ``infer.nproc_per_node: N`` > 1 the stage starts itself N times through torchrun (one process per
GPU), and the processes share the sequences; the PNGs are the same as one process writes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from hodor.config import load_section
from hodor.errors import InputError
from hodor.infer.params import load_infer_launch, load_infer_params
from hodor.launch import relaunch


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--dataset", required=True, help="davis_val or youtube_vos_2019_val")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        params = load_infer_params(args.params)
        launch = load_infer_launch(args.params)
        code = relaunch(launch, __file__, argv, os.environ, os.cpu_count())
        if code is not None:
            return code
        # torch and the model only now: a stage that relaunched itself under torchrun never imports them
        from hodor.infer.cli import summary_line
        from hodor.infer.dataset import GATHER_TIMEOUT
        from hodor.infer.run import infer_workspace
        from hodor.model import ModelParams
        from hodor.train.distributed import context_from_env, setup, teardown

        model_params = load_section(ModelParams, args.params, "model")
        ctx = context_from_env(os.environ)
        setup(ctx, GATHER_TIMEOUT)
        try:
            summary = infer_workspace(
                args.checkpoint, args.dataset, args.workspace, args.out, params, model_params, ctx.device,
                ctx=ctx,
            )  # fmt: skip
        finally:
            teardown(ctx)
    except InputError as err:
        print(f"stages/infer.py: error: {err}", file=sys.stderr)
        return 2
    if ctx.is_main:
        print(
            f"{summary_line(f'infer {args.dataset}', summary, args.out)} "
            f"(W={params.temporal_window}, min dim {params.min_image_dim}, {args.checkpoint})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
