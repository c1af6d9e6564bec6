"""DVC stage ``evaluate@<regime>-<dataset>``: J&F of one inference output -> metrics/<regime>_<dataset>.json.

    python stages/evaluate.py --params params.yaml --regime video_dense --dataset davis_val \
        --predictions outputs/video_dense/davis_val --output metrics/video_dense_davis_val.json \
        [--csv-dir metrics/video_dense_davis_val] [--raw-root data/synthetic]

Reads params section ``evaluate`` (``workers``; ``youtube_vos_gt``, the YouTube-VOS ground truth folder the
stage depends on) and, without ``--raw-root``, the section ``data`` (strictly, for
``data.davis_root`` / ``data.youtube_vos_root``). Writes the flat metrics JSON (DAVIS: J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean,
F-Recall, F-Decay; YouTube-VOS: G, J-seen, F-seen, J-unseen, F-unseen; the 95% bootstrap interval of J&F-Mean
or G as ``<figure>-ci95-lo``/``-hi`` (``evaluate.bootstrap_samples`` > 0); plus fps from
``<predictions>/inference_summary.json`` when present) and, with ``--csv-dir``, the official CSVs and
the per-object ``metrics.json`` there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.atomic import write_json
from hodor.config import load_section
from hodor.data.params import DataParams
from hodor.errors import InputError
from hodor.evaluate.bootstrap import interval_keys
from hodor.evaluate.params import EvaluateParams
from hodor.evaluate.pipeline import evaluate_dataset


def raw_roots(args: argparse.Namespace) -> tuple[Path, Path]:
    """(DAVIS root, YouTube-VOS root): under --raw-root, or data.davis_root / data.youtube_vos_root."""
    if args.raw_root is not None:
        return args.raw_root / "DAVIS", args.raw_root / "youtube_vos"
    data = load_section(DataParams, args.params, "data")  # strict, as every stage reading `data`
    return Path(data.davis_root), Path(data.youtube_vos_root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--regime", required=True, help="static_image, video_sparse or video_dense")
    parser.add_argument("--dataset", required=True, help="davis_val or youtube_vos_2019_val")
    parser.add_argument("--predictions", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--csv-dir", type=Path, help="folder for the official CSVs and per-object metrics.json"
    )
    parser.add_argument("--raw-root", type=Path, help="folder holding DAVIS/ and youtube_vos/")
    args = parser.parse_args(argv)
    name = f"evaluate@{args.regime}-{args.dataset}"
    try:
        params = load_section(EvaluateParams, args.params, "evaluate")
        davis_root, youtube_vos_root = raw_roots(args)
        metrics = evaluate_dataset(
            args.dataset,
            args.predictions,
            davis_root=davis_root,
            youtube_vos_root=youtube_vos_root,
            youtube_vos_gt=params.youtube_vos_gt,
            details_dir=args.csv_dir,
            workers=params.workers,
            progress=sys.stderr.isatty(),
            bootstrap_samples=params.bootstrap_samples,
            bootstrap_seed=params.bootstrap_seed,
        )
    except InputError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return 2
    write_json(args.output, metrics, indent=2)
    shown = {k: v for k, v in metrics.items() if k in ("J&F-Mean", "J-Mean", "F-Mean", "G", "fps")}
    text = ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} n/a (no ground truth)" for k, v in shown.items()
    )
    lo, hi = (metrics.get(k) for k in interval_keys("J&F-Mean" if "J&F-Mean" in metrics else "G"))
    if lo is not None and hi is not None:
        text += f" (95% interval {lo:.4f}-{hi:.4f}, {params.bootstrap_samples} sequence resamples)"
    print(f"{name}: {text} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
