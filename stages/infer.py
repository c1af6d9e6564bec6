"""Stage ``infer@<regime>-<dataset>``: segment a workspace dataset with a trained checkpoint.

    python stages/infer.py --params params.yaml --checkpoint workspace/checkpoints/static_image/final.pth \
        --dataset davis_val --workspace workspace --out outputs/static_image/davis_val

Reads params: top-level ``temporal_window``, ``min_image_dim``; sections ``infer`` and ``model``.
Writes ``<out>/`` (DAVIS PNGs, or YouTube-VOS ``Annotations/`` + ``Annotations.zip``) and
``<out>/inference_summary.json`` (fps, checkpoint sha256, settings). Resumable: finished sequences of an
interrupted run with the same checkpoint and params are skipped.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from hodor.config import load_section
from hodor.errors import InputError
from hodor.infer.params import load_infer_params
from hodor.infer.run import infer_workspace
from hodor.model import ModelParams


def main(argv: list[str] | None = None) -> int:
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
        model_params = load_section(ModelParams, args.params, "model")
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        summary = infer_workspace(
            args.checkpoint, args.dataset, args.workspace, args.out, params, model_params, device
        )
    except InputError as err:
        print(f"stages/infer.py: error: {err}", file=sys.stderr)
        return 2
    print(
        f"infer {args.dataset} ({args.checkpoint}): {summary.frames} frames in {summary.sequences} sequences, "
        f"{summary.fps:.2f} fps (W={params.temporal_window}, min dim {params.min_image_dim}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
