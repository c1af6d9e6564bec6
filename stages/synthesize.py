"""DVC stage `synthesize`: the synthetic raw COCO / DAVIS 2017 / YouTube-VOS 2019 workspace.

    python stages/synthesize.py --params params.yaml --out data/raw

Reads ``data.source`` and ``data.synthetic`` (seed, scale). With ``source: synthetic`` ``--out`` is replaced
as a whole, atomically, and only when it is empty or a previous synthetic output (it carries the
``.hodor_synthetic.json`` marker). With ``source: real`` the raw datasets are the folders named by
``data.*_root``; this stage then only leaves an empty marker in ``--out`` so that DVC has an output to track.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.atomic import atomic_directory, write_json
from hodor.config import load_section
from hodor.data.params import DataParams
from hodor.data.synthetic import synthesize
from hodor.data.synthetic.build import FORMAT, MARKER, VERSION, check_target
from hodor.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        data = load_section(DataParams, args.params, "data")
        if data.source == "real":
            check_target(args.out)
            with atomic_directory(args.out) as tmp:
                # A marker with no datasets: a later switch back to 'synthetic' may replace it.
                write_json(
                    tmp / MARKER, {"format": FORMAT, "version": VERSION, "source": "real", "counts": {}}
                )
            print(f"synthesize: skipped (data.source: real; COCO {data.coco_root}, DAVIS {data.davis_root})")
            return 0
        params = data.synthetic
        summary = synthesize(args.out, seed=params.seed, scale=params.scale, progress=sys.stderr.isatty())
    except InputError as err:
        print(f"synthesize: error: {err}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
