"""DVC stage ``report``: metrics/report.md (the paper's tables, ours beside the published numbers) + plots.

    python stages/report.py --params params.yaml --metrics metrics --live dvclive \
        --out metrics/report.md --plots plots [--paper paper_results.yaml] [--ablation ablation.csv]

Reads the top-level ``temporal_window`` (shown in the report), ``data.source`` (the paper's figures are
shown, with their sources, on real data only: on synthetic data they are not comparable),
``convert.youtube_vos_val_frames`` (which frames the temporal window counted) and
``evaluate.bootstrap_samples`` / ``evaluate.bootstrap_seed`` (the paired differences between runs). Inputs that do not exist
yet (a regime not trained, no dvclive logs, no ablation table) become notes in the report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.config import read_yaml
from hodor.errors import InputError
from hodor.evaluate.report import ReportInputs, build_report


def bootstrap_settings(params: dict) -> dict[str, int]:
    """``evaluate.bootstrap_samples`` / ``bootstrap_seed`` (the evaluate stages' draws); absent: none."""
    section = params.get("evaluate") or {}
    samples, seed = section.get("bootstrap_samples", 0), section.get("bootstrap_seed", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (samples, seed)):
        raise InputError(
            f"evaluate.bootstrap_samples / bootstrap_seed must be integers, got {samples!r} / {seed!r}"
        )
    return {"bootstrap_samples": samples, "bootstrap_seed": seed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--metrics", type=Path, required=True, help="folder of <regime>_<dataset>.json")
    parser.add_argument("--live", type=Path, help="dvclive folder (<live>/<regime>/plots/metrics/*.tsv)")
    parser.add_argument("--out", type=Path, required=True, help="the markdown report")
    parser.add_argument("--plots", type=Path, required=True, help="folder of PNGs (replaced as a whole)")
    parser.add_argument("--paper", type=Path, default=Path("paper_results.yaml"))
    parser.add_argument("--ablation", type=Path, help="CSV/JSON rows of temporal_window and J&F columns")
    args = parser.parse_args(argv)
    try:
        params = read_yaml(args.params)
        window = params.get("temporal_window")
        source = (params.get("data") or {}).get("source")
        inputs = ReportInputs(
            metrics_dir=args.metrics,
            paper_path=args.paper,
            live_dir=args.live,
            ablation_path=args.ablation,
            temporal_window=window if isinstance(window, int) else None,
            data_source=source if source in ("real", "synthetic") else None,
            youtube_vos_frames=(params.get("convert") or {}).get("youtube_vos_val_frames"),
            **bootstrap_settings(params),
        )
        out = build_report(inputs, args.out, args.plots)
    except InputError as err:
        print(f"report: error: {err}", file=sys.stderr)
        return 2
    pngs = sorted(p.name for p in args.plots.glob("*.png"))
    print(f"report: {out} with {len(pngs)} plot(s) in {args.plots}: {', '.join(pngs) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
