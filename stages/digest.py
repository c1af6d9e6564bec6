"""DVC stage ``digest@<tree>``: one content digest of a raw folder that several stages read.

    python stages/digest.py --tree data/synthetic/DAVIS/JPEGImages/480p --out workspace/digests/davis_frames.json

DVC walks the folder once, for this stage; the conversions, inferences and scorings that read it depend
on the small JSON written here (:mod:`hodor.data.digest`), which changes whenever the folder's content does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from hodor.atomic import write_json
from hodor.data.digest import tree_digest
from hodor.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the folder to digest")
    parser.add_argument("--out", type=Path, required=True, help="JSON: files, bytes, md5")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        with tqdm(
            desc=f"digest {args.tree}", unit="file", disable=not sys.stderr.isatty(), leave=False
        ) as bar:
            digest = tree_digest(args.tree, on_file=bar.update)
    except InputError as err:
        print(f"digest: error: {err}", file=sys.stderr)
        return 2
    write_json(args.out, {"files": digest.files, "bytes": digest.bytes, "md5": digest.md5}, indent=1)
    print(
        f"digest {args.tree}: {digest.files} files, {digest.bytes / 2**20:.1f} MiB, md5 {digest.md5} "
        f"in {time.perf_counter() - start:.1f} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
