"""DVC stage ``pretrain``: static-image (COCO pseudo-video) training of HODOR.

    python stages/pretrain.py --params params.yaml --workspace workspace \\
        --out workspace/checkpoints/static_image --live dvclive/static_image [--no-resume]

Reads params ``model``, ``pretrain`` and the top-level ``seed``; reads
workspace/dataset_json_annotations/coco_2017_train.json and its images; writes NNNNNN.pth (last N kept) and
final.pth into --out, metrics into --live. With ``pretrain.nproc_per_node: N`` > 1 the stage starts
itself N times through torchrun (one process per core on a CPU, per GPU on a GPU machine); it also runs as
one rank of a torchrun the user starts.
Rerun after an interruption, it resumes from the newest checkpoint (hodor/train/resume.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from hodor.errors import InputError
from hodor.launch import params_path_from, relaunch
from hodor.train.params import load_train_launch

if TYPE_CHECKING:
    from hodor.train.loop import Hook


def main(argv: list[str] | None = None, hooks: list[Hook] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:  # several processes (pretrain.nproc_per_node): start them before importing torch here
        launch = load_train_launch(params_path_from(argv), "static")
        code = relaunch(launch, __file__, argv, os.environ, os.cpu_count())
        if code is not None:
            return code
        from hodor.train.cli import add_arguments, import_official, run_from_args

        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        add_arguments(parser, regime="static")
        args = parser.parse_args(argv)
        if not import_official(args, "static"):
            run_from_args(args, "static", hooks)
    except InputError as err:
        print(f"pretrain: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
