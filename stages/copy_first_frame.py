"""DVC stage ``copy_first_frame@<dataset>``: the trivial baseline's predictions, in the inference layout.

    python stages/copy_first_frame.py --dataset davis_val --workspace workspace \
        --out outputs/copy_first_frame/davis_val

Reads no params and no frame: each object's reference mask from
``workspace/dataset_json_annotations/<dataset>.json`` is copied to every later frame
(:mod:`hodor.infer.copy_baseline`); ``evaluate@copy_first_frame-<dataset>`` scores the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.data import workspace
from hodor.data.standard_json import load_video_dataset
from hodor.errors import InputError
from hodor.infer.copy_baseline import copy_dataset
from hodor.infer.writers import dataset_kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="davis_val or youtube_vos_2019_val")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        kind = dataset_kind(args.dataset)
        json_file = workspace.json_path(args.workspace, args.dataset)
        if not json_file.is_file():
            raise InputError(f"{json_file}: dataset JSON not found; run the convert stage first")
        dataset = load_video_dataset(json_file, workspace.image_root(args.workspace, args.dataset))
        summary = copy_dataset(dataset, args.out, kind, progress=sys.stderr.isatty())
    except InputError as err:
        print(f"copy_first_frame: error: {err}", file=sys.stderr)
        return 2
    print(
        f"copy_first_frame {args.dataset}: {summary.frames} frames in {summary.sequences} sequences -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
