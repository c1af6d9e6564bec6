"""DVC stage ``finetune@<regime>``: sparse (cyclic) or dense video finetuning of HODOR.

    python stages/finetune.py --params params.yaml --regime sparse \\
        --init workspace/checkpoints/static_image/final.pth --workspace workspace \\
        --out workspace/checkpoints/video_sparse --live dvclive/video_sparse [--no-resume]

Reads params ``model``, ``finetune`` (``finetune.<regime>``) and the top-level ``seed``; reads
workspace/dataset_json_annotations/{youtube_vos_2019_train,davis_train}.json and their images; ``--init``
is our pretrain final.pth or an official checkpoint. Writes NNNNNN.pth + final.pth into --out; rerun after
an interruption, it resumes from the newest checkpoint (hodor/train/resume.py).
"""

from __future__ import annotations

import argparse
import sys

from hodor.errors import InputError
from hodor.train.cli import add_arguments, import_official, run_from_args
from hodor.train.loop import Hook


def main(argv: list[str] | None = None, hooks: list[Hook] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", required=True, choices=["sparse", "dense"])
    add_arguments(parser, regime="video")
    args = parser.parse_args(argv)
    if args.init is None:
        parser.error("--init is required (the pretrain final.pth or an official checkpoint)")
    try:
        if not import_official(args, args.regime):
            run_from_args(args, args.regime, hooks)
    except InputError as err:
        print(f"finetune@{args.regime}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
