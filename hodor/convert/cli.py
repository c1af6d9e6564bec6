"""``hodor convert {coco,davis,youtube_vos} ROOT ...``: a raw dataset -> the standardized HODOR JSON.

Examples::

    hodor convert davis data/synthetic/DAVIS --split val --workspace workspace
        # -> workspace/dataset_json_annotations/davis_val.json + workspace/dataset_images/davis_trainval (link)
    hodor convert youtube_vos data/synthetic/youtube_vos --split valid --out /tmp/ytvos_val.json
    hodor convert coco data/synthetic/coco --workspace workspace --workers 2
    hodor convert davis datasets/DAVIS --split test-dev --workspace workspace      # -> davis_testdev.json
    hodor convert youtube_vos datasets/youtube_vos --split valid --frames valid_all_frames --out /tmp/v.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hodor.convert.policy import Policy
from hodor.convert.run import convert_to_file, convert_to_workspace
from hodor.errors import InputError

# (kind, split) -> official dataset name; the first split of each kind is its default
NAMES: dict[tuple[str, str], str] = {
    ("coco", "train2017"): "coco_2017_train",
    ("davis", "train"): "davis_train",
    ("davis", "val"): "davis_val",
    ("davis", "test-dev"): "davis_testdev",
    ("youtube_vos", "train"): "youtube_vos_2019_train",
    ("youtube_vos", "valid"): "youtube_vos_2019_val",
}
SPLIT_ALIASES = {"val": "valid", "train": "train", "valid": "valid"}  # YouTube-VOS folder names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["coco", "davis", "youtube_vos"], help="raw dataset layout")
    parser.add_argument(
        "root",
        type=Path,
        help="raw dataset folder: coco/ (annotations/, train2017/), DAVIS/ (JPEGImages/, Annotations/, "
        "ImageSets/) or youtube_vos/ (train/, valid/)",
    )
    parser.add_argument(
        "--split", help="davis: train|val|test-dev; youtube_vos: train|valid (default: train)"
    )
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--workspace", type=Path, help="write the official JSON name here and link the images")
    out.add_argument("--out", type=Path, help="write the JSON to this file only (no image link)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (1 = no pool; default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first item-level problem (default: skip or repair it and list it in "
        "<name>.report.json beside the JSON)",
    )
    parser.add_argument(
        "--max-skipped-fraction",
        type=float,
        default=Policy().max_skipped_fraction,
        help="fail when item-level problems drop more than this share of any item kind (default 0.01)",
    )
    parser.add_argument(
        "--frames",
        choices=["valid", "valid_all_frames"],
        help="youtube_vos --split valid only: take the image paths from valid_all_frames/ (every frame; the "
        "scored frames stay those of valid/)",
    )
    coco = parser.add_argument_group("coco only")
    coco.add_argument(
        "--annotations", type=Path, help="instances JSON (default ROOT/annotations/instances_train2017.json)"
    )
    coco.add_argument("--images", type=Path, help="image folder (default ROOT/train2017)")
    coco.add_argument("--skip-empty-masks", action="store_true", help="drop annotations whose mask is empty")


def dataset_name(kind: str, split: str | None) -> str:
    """The official name of a (layout, split) pair; unknown splits fail with the valid ones."""
    if kind == "coco":
        split = split or "train2017"
    elif kind == "youtube_vos":
        split = SPLIT_ALIASES.get(split or "train", split)
    else:
        split = split or "train"
    if (kind, split) not in NAMES:
        valid = [s for k, s in NAMES if k == kind]
        raise InputError(f"--split {split!r} is not a {kind} split; choose one of {', '.join(valid)}")
    return NAMES[(kind, split)]


def run(args: argparse.Namespace) -> int:
    name = dataset_name(args.kind, args.split)
    if args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    options = {}
    if args.kind == "coco":
        options = {
            "annotations": args.annotations,
            "images": args.images,
            "skip_empty_masks": args.skip_empty_masks,
        }
    elif args.annotations or args.images or args.skip_empty_masks:
        raise InputError("--annotations, --images and --skip-empty-masks apply to `hodor convert coco` only")
    if args.frames and name != "youtube_vos_2019_val":
        raise InputError("--frames applies to `hodor convert youtube_vos --split valid` only")
    if args.frames:
        options["frames"] = args.frames
    try:
        policy = Policy(strict=args.strict, max_skipped_fraction=args.max_skipped_fraction)
    except ValueError as err:
        raise InputError(f"--max-skipped-fraction: {err}") from None
    common = {"workers": args.workers, "progress": not args.no_progress, "policy": policy, **options}
    if args.workspace is not None:
        summary = convert_to_workspace(name, args.root, args.workspace, **common)
    else:
        summary = convert_to_file(name, args.root, args.out, **common)
    print(summary.line() + (f" (images: {summary.image_root})" if summary.image_root else ""))
    return 0
