"""``hodor synthesize --out DIR [--seed N] [--scale tiny|default|large] [--quirks] [--testdev]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.data.synthetic.build import synthesize
from hodor.data.synthetic.scales import SCALES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory (new, empty, or a previous output)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files (default 0)")
    parser.add_argument(
        "--scale", choices=sorted(SCALES), default="default", help="dataset size (default: default)"
    )
    parser.add_argument(
        "--quirks",
        action="store_true",
        help="add one item per quirk of the real datasets (empty COCO polygons, corrupt frames, meta.json "
        "mismatches, ...) for the converters to skip or repair; the list is in the marker file",
    )
    parser.add_argument(
        "--testdev",
        action="store_true",
        help="also write a DAVIS 2017 test-dev split (frame-0 masks only), for the davis_testdev stage",
    )


def run(args: argparse.Namespace) -> int:
    summary = synthesize(
        args.out,
        seed=args.seed,
        scale=args.scale,
        progress=sys.stderr.isatty(),
        quirks=args.quirks,
        testdev=args.testdev,
    )
    print(summary.line())
    return 0
