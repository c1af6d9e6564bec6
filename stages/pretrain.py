"""DVC stage ``pretrain``: static-image (COCO pseudo-video) training of HODOR.

    python stages/pretrain.py --params params.yaml --workspace workspace \\
        --out workspace/checkpoints/static_image --live dvclive/static_image [--no-resume]

Reads params ``model``, ``pretrain`` and the top-level ``seed``; reads
workspace/dataset_json_annotations/coco_2017_train.json and its images; writes NNNNNN.pth (last N kept) and
final.pth into --out, metrics into --live. Runs the same under ``torchrun --nproc_per_node=N``.
Rerun after an interruption, it resumes from the newest checkpoint (hodor/train/resume.py).
"""

from __future__ import annotations

import argparse
import sys

from hodor.errors import InputError
from hodor.train.cli import add_arguments, import_official, run_from_args
from hodor.train.loop import Hook


def main(argv: list[str] | None = None, hooks: list[Hook] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, regime="static")
    args = parser.parse_args(argv)
    try:
        if not import_official(args, "static"):
            run_from_args(args, "static", hooks)
    except InputError as err:
        print(f"pretrain: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
