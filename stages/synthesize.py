"""DVC stage `synthesize`: the synthetic raw COCO / DAVIS 2017 / YouTube-VOS 2019 workspace.

    python stages/synthesize.py --params params.yaml --out data/synthetic

Reads ``data.source``, ``data.synthetic`` (seed, scale) and the three ``data.*_root`` keys. ``--out`` is
the synthetic data's own folder (``data/synthetic``, never where users put real data): it is replaced as a
whole, atomically, and only when it is empty or a previous synthetic output holding nothing but what its
``.hodor_synthetic.json`` marker says it created; anything else in it stops the stage. With ``source:
real`` the raw datasets are the folders named by ``data.*_root``, which must lie outside ``--out``; this
stage then only leaves a marker in ``--out`` so that DVC has an output to track.
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


def check_roots_outside(data: DataParams, out: Path) -> None:
    """Real datasets inside the synthetic folder would be deleted with it: refuse, naming the key."""
    owned = out.resolve()
    for key in ("coco_root", "davis_root", "youtube_vos_root"):
        root = Path(getattr(data, key)).resolve()
        if root == owned or owned in root.parents:
            raise InputError(
                f"data.{key} = {getattr(data, key)} lies inside {out}, the synthetic data's folder, which this "
                f"stage replaces; put the real dataset elsewhere (e.g. datasets/) and point data.{key} there"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        data = load_section(DataParams, args.params, "data")
        if data.source == "real":
            check_roots_outside(data, args.out)
            check_target(args.out)
            with atomic_directory(args.out) as tmp:
                # A marker with no datasets: a later switch back to 'synthetic' may replace it.
                marker = {"format": FORMAT, "version": VERSION, "source": "real", "counts": {}, "files": []}
                write_json(tmp / MARKER, marker)
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
