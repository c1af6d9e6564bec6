"""DVC stage `convert@<name>`: one raw dataset -> workspace/dataset_json_annotations/<name>.json.

    python stages/convert.py --params params.yaml --name davis_val --raw-root data/synthetic --workspace workspace

Writes the JSON (the stage's out) and links workspace/dataset_images/<folder> to the raw image folder (a
relative symlink, not declared as an out: DVC would hash every image behind it, and davis_train and
davis_val share one folder). Raw folders: --raw-root/<coco|DAVIS|youtube_vos>, or, without --raw-root,
the keys data.coco_root / data.davis_root / data.youtube_vos_root of the params file (the whole `data`
section is checked strictly, as hodor.data.params.DataParams). Params section ``convert`` (strict,
max_skipped_fraction, youtube_vos_val_frames) is hodor.convert.params.ConvertParams: the skip/report
policy; the report of skipped and repaired items is written beside the JSON as <name>.report.json.
With params ``official.json_dir`` set (the official workspace zip), the official JSON is validated and
placed instead of converting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.config import load_section
from hodor.convert.params import ConvertParams
from hodor.convert.policy import Policy
from hodor.convert.run import DATASETS, convert_to_workspace, dataset_root
from hodor.data.params import DataParams
from hodor.errors import InputError
from hodor.official_workspace import OfficialParams, import_json


def source_from_params(params: Path, name: str) -> Path:
    """Raw folder of ``name`` from the ``data`` section (data.coco_root / davis_root / youtube_vos_root)."""
    data = load_section(DataParams, params, "data")
    kind = DATASETS[name][0]
    return Path(
        {"coco": data.coco_root, "davis": data.davis_root, "youtube_vos": data.youtube_vos_root}[kind]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--name", required=True, choices=sorted(DATASETS))
    parser.add_argument("--raw-root", type=Path, help="folder holding coco/, DAVIS/, youtube_vos/")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        source = (
            dataset_root(args.raw_root, args.name)
            if args.raw_root
            else source_from_params(args.params, args.name)
        )
        # --raw-root runs without a params file (tests, one-off conversions); the pipeline passes params.
        official = None if args.raw_root else load_section(OfficialParams, args.params, "official")
        if official is not None and official.json_dir is not None:
            out = import_json(args.name, Path(official.json_dir), source, args.workspace)
            print(
                f"convert@{args.name}: imported {Path(official.json_dir) / out.name} -> {out} (official.json_dir)"
            )
            return 0
        params = None if args.raw_root else load_section(ConvertParams, args.params, "convert")
        policy, options = (params.policy(), params.options(args.name)) if params else (Policy(), {})
        summary = convert_to_workspace(
            args.name, source, args.workspace, workers=args.workers, policy=policy, **options
        )
    except InputError as err:
        print(f"convert@{args.name}: error: {err}", file=sys.stderr)
        return 2
    print(f"convert@{summary.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
