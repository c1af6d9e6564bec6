"""DVC stage ``finetune@<regime>``: sparse (cyclic) or dense video finetuning of HODOR.

    python stages/finetune.py --params params.yaml --regime sparse \\
        --init workspace/checkpoints/static_image/final.pth --workspace workspace \\
        --out workspace/checkpoints/video_sparse --live dvclive/video_sparse [--no-resume]

Reads params ``model``, ``finetune`` (``finetune.<regime>``) and the top-level ``seed``; reads
workspace/dataset_json_annotations/{youtube_vos_2019_train,davis_train}.json and their images; ``--init``
is our pretrain final.pth or an official checkpoint. Writes NNNNNN.pth + final.pth into --out; rerun after
an interruption, it resumes from the newest checkpoint (hodor/train/resume.py). With
``finetune.<regime>.nproc_per_node: N`` > 1 it starts itself N times through torchrun.
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", required=True, choices=["sparse", "dense"])
    regime = parser.parse_known_args(argv)[0].regime
    try:  # several processes (finetune.<regime>.nproc_per_node): start them before importing torch here
        code = relaunch(load_train_launch(params_path_from(argv), regime), __file__, argv, os.environ,
                        os.cpu_count())  # fmt: skip
        if code is not None:
            return code
        from hodor.train.cli import add_arguments, import_official, run_from_args

        add_arguments(parser, regime="video")
        args = parser.parse_args(argv)
        if args.init is None:
            parser.error("--init is required (the pretrain final.pth or an official checkpoint)")
        if not import_official(args, regime):
            run_from_args(args, regime, hooks)
    except InputError as err:
        print(f"finetune@{regime}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
