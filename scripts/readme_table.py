"""Rewrite README.md's results table from metrics/*.json (the rows between the results-table markers).

    python scripts/readme_table.py [--readme README.md] [--metrics metrics] [--check]

Run after a results refresh (`dvc repro`, then `make readme-table`); ``--check`` only says whether the
table is current (exit 1 if not), for a reviewer or CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.errors import InputError
from hodor.evaluate.report import load_metrics
from hodor.evaluate.summary import replace_table, summary_table, update_readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the table differs from the metrics")
    args = parser.parse_args(argv)
    try:
        if args.check:
            text = args.readme.read_text()
            current = replace_table(text, summary_table(load_metrics(args.metrics)), str(args.readme)) == text
            print(
                f"readme_table: {args.readme} is {'current' if current else 'OUT OF DATE'} with {args.metrics}"
            )
            return 0 if current else 1
        changed = update_readme(args.readme, args.metrics)
    except (InputError, OSError) as err:
        print(f"readme_table: error: {err}", file=sys.stderr)
        return 2
    print(f"readme_table: {args.readme} {'updated' if changed else 'already current'} from {args.metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
