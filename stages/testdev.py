"""DVC stage ``testdev@<regime>``: DAVIS 2017 test-dev -> server-ready PNGs and their zip (off by default).

    python stages/testdev.py --params params.yaml --checkpoint workspace/checkpoints/video_dense/final.pth \
        --workspace workspace --out outputs/video_dense/davis_testdev

Runs only for the regimes listed in params ``davis_testdev.regimes`` (empty by default: the stage then has
no instance and the default `dvc repro` never needs the test-dev download). Converts test-dev from
``data.davis_root`` (``ImageSets/2017/test-dev.txt``; params ``convert``: the skip/report policy, the
report beside the JSON as ``workspace/dataset_json_annotations/davis_testdev.report.json``), segments it
(params ``temporal_window``, ``min_image_dim``, ``infer``, ``model``) into ``<out>/<sequence>/NNNNN.png``
and zips those folders into ``<out>/davis_testdev.zip`` for the challenge server (no local scoring: the
test-dev ground truth is not released).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from hodor.config import load_section
from hodor.convert.params import ConvertParams
from hodor.convert.run import convert_to_workspace
from hodor.data.params import DataParams
from hodor.errors import InputError
from hodor.infer.params import load_infer_params
from hodor.infer.run import infer_workspace
from hodor.infer.writers import write_davis_zip
from hodor.model import ModelParams

NAME = "davis_testdev"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        davis_root = Path(load_section(DataParams, args.params, "data").davis_root)
        convert = load_section(ConvertParams, args.params, "convert")
        converted = convert_to_workspace(
            NAME, davis_root, args.workspace, policy=convert.policy(), progress=sys.stderr.isatty()
        )
        print(f"testdev: convert@{converted.line()}")
        params = load_infer_params(args.params)
        model_params = load_section(ModelParams, args.params, "model")
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        summary = infer_workspace(
            args.checkpoint, NAME, args.workspace, args.out, params, model_params, device
        )
        zip_path = write_davis_zip(args.out, f"{NAME}.zip")
    except InputError as err:
        print(f"testdev: error: {err}", file=sys.stderr)
        return 2
    print(
        f"testdev ({args.checkpoint}): {summary.frames} frames in {summary.sequences} sequences, "
        f"{summary.fps:.2f} fps (W={params.temporal_window}) -> {args.out}; upload {zip_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
