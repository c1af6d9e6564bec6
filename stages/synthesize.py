"""DVC stage `synthesize`: the synthetic raw COCO / DAVIS 2017 / YouTube-VOS 2019 workspace.

    python stages/synthesize.py --params params.yaml --out data/raw

Reads ``data.synthetic.seed`` and ``data.synthetic.scale``. ``--out`` is replaced as a whole, atomically,
and only when it is empty or a previous synthetic output (it carries the ``.hodor_synthetic.json`` marker).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.config import load_section
from hodor.data.synthetic import synthesize
from hodor.data.synthetic.params import SynthesisParams
from hodor.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        params = load_section(SynthesisParams, args.params, "data", "synthetic")
        summary = synthesize(args.out, seed=params.seed, scale=params.scale, progress=sys.stderr.isatty())
    except InputError as err:
        print(f"synthesize: error: {err}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
