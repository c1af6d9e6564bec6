"""``metrics/report.md``: the paper's results tables with our numbers beside the published ones, and plots.

Inputs (all optional except the directory of metrics; what is missing becomes a note, never a crash):
``<metrics>/<regime>_<dataset>.json`` from the evaluate stage, ``<metrics>/<regime>_davis_val/metrics.json``
(per-object details, for the per-sequence plot), ``paper_results.yaml`` (published numbers with sources),
``<live>/<regime>/plots/metrics/**/*.tsv`` (dvclive training curves) and a temporal-window ablation table
(CSV or JSON rows with a ``temporal_window`` column and one or more ``J&F`` columns, e.g. the output of
``dvc exp show --csv``).

Every J&F / G carries its 95% bootstrap interval (from the evaluate stage's ``<figure>-ci95-lo/hi`` keys), and
each pair of runs on a dataset gets a paired bootstrap of its difference from the per-object details
(:mod:`hodor.evaluate.bootstrap`): the baselines (untrained model, copied first-frame mask) are rows like
the trained regimes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from hodor.atomic import atomic_directory, write_text
from hodor.config import read_yaml
from hodor.errors import InputError
from hodor.evaluate import plots
from hodor.evaluate.bootstrap import (
    ALL,
    HEADLINE,
    Difference,
    benchmark_objects,
    interval_keys,
    paired_difference,
)

REGIMES = {
    "untrained": "Untrained model (same architecture)",
    "copy_first_frame": "Copy the first-frame mask",
    "static_image": "Static images (COCO)",
    "video_sparse": "Video, sparse",
    "video_dense": "Video, dense",
}


def ordered_regimes(metrics: dict[tuple[str, str], dict]) -> list[str]:
    """Every run kind to show: the known ones in REGIMES order (baselines first), then any other in ``metrics``.

    The report and the README table both list rows in this order with REGIMES' labels, so a new run kind is
    added in one place (or shows up under its own name without any change).
    """
    return list(REGIMES) + sorted({regime for regime, _ in metrics} - set(REGIMES))


# dataset -> (title, [(column title, paper key, our metrics key)])
TABLES = {
    "davis_val": ("DAVIS 2017 val", [("J&F", "J&F", "J&F-Mean"), ("J", "J", "J-Mean"), ("F", "F", "F-Mean")]),
    "youtube_vos_2019_val": (
        "YouTube-VOS 2019 val",
        [(k, k, k) for k in ("G", "J-seen", "F-seen", "J-unseen", "F-unseen")],
    ),
}
PAPER_TEMPORAL_WINDOW = 7
BASELINES = ("untrained", "copy_first_frame")  # scored like the regimes, but never trained
BENCHMARK = {"davis_val": "davis", "youtube_vos_2019_val": "youtube_vos"}


@dataclass(frozen=True)
class PaperNumber:
    value: float | None
    source: str
    verified: bool


def load_paper_results(path: Path) -> dict[str, dict[str, dict[str, PaperNumber]]]:
    """``paper_results.yaml`` -> dataset -> regime -> metric -> :class:`PaperNumber` (strictly checked)."""
    data = read_yaml(path)
    out: dict[str, dict[str, dict[str, PaperNumber]]] = {}
    for dataset, regimes in data.items():
        if dataset not in TABLES or not isinstance(regimes, dict):
            raise InputError(f"{path}: unknown dataset {dataset!r}; expected one of {', '.join(TABLES)}")
        known = {paper for _, paper, _ in TABLES[dataset][1]} | {"fps"}
        for regime, metrics in regimes.items():
            if not isinstance(metrics, dict):
                raise InputError(f"{path}: {dataset}.{regime} must map metric names to entries")
            for metric, entry in metrics.items():
                where = f"{path}: {dataset}.{regime}.{metric}"
                if metric not in known:
                    raise InputError(f"{where}: unknown metric; expected one of {', '.join(sorted(known))}")
                if not isinstance(entry, dict) or set(entry) != {"value", "source", "verified"}:
                    raise InputError(f"{where}: expected {{value, source, verified}}")
                value = entry["value"]
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise InputError(f"{where}: value must be a number (percent) or null, got {value!r}")
                if not isinstance(entry["source"], str) or not isinstance(entry["verified"], bool):
                    raise InputError(f"{where}: source must be text and verified true/false")
                number = PaperNumber(
                    None if value is None else float(value), entry["source"], entry["verified"]
                )
                out.setdefault(dataset, {}).setdefault(regime, {})[metric] = number
    return out


def load_metrics(metrics_dir: Path) -> dict[tuple[str, str], dict]:
    """(regime, dataset) -> flat metrics dict, for every ``<regime>_<dataset>.json`` present."""
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(metrics_dir.glob("*.json")) if metrics_dir.is_dir() else []:
        for dataset in TABLES:
            if path.stem.endswith(f"_{dataset}"):
                try:
                    found[(path.stem[: -len(dataset) - 1], dataset)] = json.loads(path.read_text())
                except json.JSONDecodeError as err:
                    raise InputError(f"{path}: not valid JSON ({err})") from None
    return found


def per_sequence_jf(details: Path) -> dict[str, float]:
    """Sequence -> J&F (mean over its objects of (J + F) / 2) from a DAVIS per-object ``metrics.json``."""
    if not details.is_file():
        return {}
    per_object = json.loads(details.read_text()).get("per_object", {})
    groups: dict[str, list[float]] = {}
    for name, scores in per_object.items():
        groups.setdefault(name.rsplit("_", 1)[0], []).append((scores["J-Mean"] + scores["F-Mean"]) / 2)
    return {s: sum(v) / len(v) for s, v in groups.items()}


def read_ablation(path: Path) -> tuple[list[float], dict[str, list[float]]]:
    """(temporal windows, {column: J&F values}) from a CSV or a JSON list of rows."""
    if not path.is_file():
        raise InputError(f"{path}: ablation file not found")
    text = path.read_text()
    rows = json.loads(text) if path.suffix == ".json" else list(csv.DictReader(io.StringIO(text)))
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{path}: expected rows (a CSV with a header, or a JSON list of objects)")
    window_col = next((c for c in rows[0] if "temporal_window" in c), None)
    jf_cols = [c for c in rows[0] if "J&F" in c]
    if window_col is None or not jf_cols:
        raise InputError(f"{path}: needs a temporal_window column and at least one J&F column")
    windows, series, seen = [], {c: [] for c in jf_cols}, set()
    for row in rows:
        try:
            window = float(row[window_col])
        except (TypeError, ValueError):
            continue
        values = tuple(_number(row.get(c)) for c in jf_cols)
        if (window, *map(str, values)) in seen:
            continue  # `dvc exp show` lists the workspace and the experiment it equals: keep one
        seen.add((window, *map(str, values)))
        windows.append(window)
        for c, value in zip(jf_cols, values, strict=True):
            series[c].append(value)
    if not windows:
        raise InputError(f"{path}: no row has a numeric temporal_window")
    order = sorted(range(len(windows)), key=windows.__getitem__)
    return [windows[i] for i in order], {_label(c): [v[i] for i in order] for c, v in series.items()}


def _label(column: str) -> str:
    """``metrics/video_dense_davis_val.json:J&F-Mean`` (dvc exp show) -> ``video_dense_davis_val``."""
    if ":" not in column:
        return column
    return Path(column.split(":", 1)[0]).name.removesuffix(".json")


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def percent(value: float | None) -> str:
    """A 0-1 score in percent with one decimal; — when missing."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def interval_text(flat: dict, figure: str) -> str:
    """`` [lo, hi]`` in percent from a flat metrics dict's ``<figure>-ci95-lo/hi``; empty when absent."""
    lo, hi = (flat.get(k) for k in interval_keys(figure))
    if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
        return ""
    return f" [{100 * lo:.1f}, {100 * hi:.1f}]"


def _paper_cell(number: PaperNumber | None) -> str:
    if number is None or number.value is None:
        return "—"
    return f"{number.value:.1f}" + ("" if number.verified else "†")


def _cell(number: PaperNumber | str | None) -> str:
    return number if isinstance(number, str) else _paper_cell(number)


def _fps(value) -> str:
    return "—" if not isinstance(value, (int, float)) else f"{value:.2f}"


def _with_sources(paper: dict, sources: list[str]) -> dict:
    """The paper numbers with each verified value marked by the footnote number of its source (appended to
    ``sources``); -> dataset -> regime -> metric -> cell text."""
    cells: dict = {}
    for dataset, regimes in paper.items():
        for regime, numbers in regimes.items():
            for metric, number in numbers.items():
                text = _paper_cell(number)
                if number.value is not None and number.verified:
                    if number.source not in sources:
                        sources.append(number.source)
                    text += f"[{sources.index(number.source) + 1}]"
                cells.setdefault(dataset, {}).setdefault(regime, {})[metric] = text
    return cells


def results_table(dataset: str, metrics: dict[tuple[str, str], dict], paper: dict, regimes: list[str]) -> str:
    """One markdown table: a row per regime, each cell ``ours (paper)``, and the fps. ``paper``: dataset ->
    regime -> metric -> PaperNumber or already formatted cell text."""
    _, columns = TABLES[dataset]
    header = ["Training"] + [c for c, _, _ in columns] + ["fps"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for regime in regimes:
        ours = metrics.get((regime, dataset), {})
        published = paper.get(dataset, {}).get(regime, {})
        cells = [REGIMES.get(regime, regime)]
        cells += [
            f"{percent(ours.get(key))}{interval_text(ours, key)} ({_cell(published.get(pkey))})"
            for _, pkey, key in columns
        ]
        cells.append(f"{_fps(ours.get('fps'))} ({_cell(published.get('fps'))})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class ReportInputs:
    metrics_dir: Path
    paper_path: Path | None = None
    live_dir: Path | None = None
    ablation_path: Path | None = None
    temporal_window: int | None = None
    notes: list[str] = field(default_factory=list)
    data_source: str | None = None  # params data.source: "real" shows the paper column, "synthetic" not
    youtube_vos_frames: str | None = None  # params convert.youtube_vos_val_frames: valid | valid_all_frames
    bootstrap_samples: int = 0  # params evaluate.bootstrap_samples: 0 = no paired differences
    bootstrap_seed: int = 0  # params evaluate.bootstrap_seed (the evaluate stage's, so draws are shared)


def _image(md_dir: Path, png: Path, alt: str) -> str:
    return f"![{alt}]({Path(os.path.relpath(png, md_dir)).as_posix()})"


def build_report(inputs: ReportInputs, out_md: Path, plots_dir: Path) -> Path:
    """Write ``out_md`` and the PNGs under ``plots_dir`` (replaced as a whole); returns ``out_md``."""
    metrics = load_metrics(inputs.metrics_dir)
    paper = load_paper_results(inputs.paper_path) if inputs.paper_path else {}
    sources: list[str] = []
    if inputs.data_source == "synthetic":
        paper = {}  # synthetic data: no published figure is comparable, none is shown
    elif inputs.data_source == "real":
        paper = _with_sources(paper, sources)
    regimes = ordered_regimes(metrics)
    notes = list(inputs.notes)
    lines = ["# HODOR: our results beside the paper's", ""]
    lines.append(
        "Each cell is **ours (paper)** in percent; † marks a published number not yet verified against the "
        "paper PDF, — a number that is missing. Paper numbers: `paper_results.yaml` (with sources). "
        "[lo, hi] after J&F and G: the 95% bootstrap interval over sequences (all objects of a sequence drawn "
        "together; YouTube-VOS seen and unseen videos drawn separately)."
    )
    if inputs.data_source == "synthetic":
        lines.append(
            "**These numbers are on the synthetic data (data.source: synthetic): the paper's figures are not "
            "comparable and are not shown.** Run on the real datasets (data.source: real) to see them."
        )
    if inputs.temporal_window is not None:
        lines.append(
            f"Temporal window of this run: {inputs.temporal_window} (paper: {PAPER_TEMPORAL_WINDOW})."
        )
    for dataset, (title, _) in TABLES.items():
        lines += ["", f"## {title}", "", results_table(dataset, metrics, paper, regimes)]
        if dataset == "youtube_vos_2019_val" and inputs.youtube_vos_frames:
            lines.append("\n" + _window_frames(inputs.youtube_vos_frames, inputs.temporal_window))
        cited = sorted({c for r in paper.get(dataset, {}).values() for c in r.values() if isinstance(c, str)})
        for i, source in enumerate(sources, start=1):
            if any(f"[{i}]" in c for c in cited):
                lines.append(f"\n[{i}] Paper figure from {source}.")
        lines += _differences_section(dataset, inputs, regimes, notes)
        missing = [r for r in regimes if (r, dataset) not in metrics]
        if missing:
            notes.append(
                f"{title}: no metrics file for {', '.join(missing)} ({inputs.metrics_dir}/<regime>_{dataset}.json)."
            )
        unscored = [r for r in regimes if _unscored(metrics.get((r, dataset)))]
        if unscored:
            notes.append(
                f"{title}: no ground truth for {', '.join(unscored)}; submit the Annotations zip to the server."
            )
    md_dir = out_md.parent
    with atomic_directory(plots_dir) as tmp_plots:
        figures = _plots(inputs, regimes, tmp_plots, notes)
    lines += ["", "## Plots"]
    for title, name in figures:
        lines += ["", f"### {title}", "", _image(md_dir, plots_dir / name, title)]
    if inputs.ablation_path is not None and inputs.ablation_path.is_file():
        windows, series = read_ablation(inputs.ablation_path)
        lines += ["", "### Temporal-window ablation (table)", "", _ablation_table(windows, series)]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    write_text(out_md, "\n".join(lines) + "\n")
    return out_md


def _window_frames(frames: str, window: int | None) -> str:
    """Which frames YouTube-VOS inference (and so its temporal window) counted."""
    w = "the temporal window" if window is None else f"the temporal window of {window} frames"
    if frames == "valid_all_frames":
        return (f"Frames: every frame of each video (valid_all_frames); {w} counts consecutive 30 fps "
                "frames; scored: every 5th frame (eval_files from valid/).")  # fmt: skip
    return (f"Frames: every 5th frame of each video (valid, the standard download); {w} counts those "
            "frames, so it spans 5x as much video time as on all frames.")  # fmt: skip


def _unscored(flat: dict | None) -> bool:
    """True for a metrics file whose scores are all null (a split without ground truth)."""
    return flat is not None and all(v is None for k, v in flat.items() if k != "fps")


def _ablation_table(windows: list[float], series: dict[str, list[float]]) -> str:
    header = ["temporal window"] + list(series)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, w in enumerate(windows):
        lines.append("| " + " | ".join([f"{w:g}"] + [percent(v[i]) for v in series.values()]) + " |")
    return "\n".join(lines)


def _plots(inputs: ReportInputs, regimes: list[str], out: Path, notes: list[str]) -> list[tuple[str, str]]:
    """Render every plot whose data exists into ``out``; (title, file name) of each."""
    figures = []
    per_regime = {r: per_sequence_jf(inputs.metrics_dir / f"{r}_davis_val" / "metrics.json") for r in regimes}
    if plots.per_sequence_bars(per_regime, out / "davis_per_sequence.png"):
        figures.append(("DAVIS 2017 val: J&F per sequence", "davis_per_sequence.png"))
    else:
        notes.append("J&F per sequence: no per-object details (evaluate stage run without --csv-dir).")
    for regime in regimes:
        tsv_dir = (inputs.live_dir / regime / "plots" / "metrics") if inputs.live_dir else None
        name = f"training_{regime}.png"
        if tsv_dir is not None and plots.training_curves(tsv_dir, f"Training curves: {regime}", out / name):
            figures.append((f"Training curves: {REGIMES.get(regime, regime)}", name))
        elif regime in REGIMES and regime not in BASELINES:
            notes.append(f"Training curves of {regime}: no dvclive metrics under {tsv_dir}.")
    if inputs.ablation_path is not None and inputs.ablation_path.is_file():
        windows, series = read_ablation(inputs.ablation_path)
        plots.ablation_lines(windows, series, out / "temporal_window_ablation.png")
        figures.append(("Temporal-window ablation", "temporal_window_ablation.png"))
    else:
        notes.append(
            "Temporal-window ablation: skipped (no ablation table). Run experiments, e.g. "
            "`dvc exp run --queue -S temporal_window=1,3,7 && dvc queue start`, export them with "
            "`dvc exp show --csv > ablation.csv` and pass `--ablation ablation.csv` to stages/report.py."
        )
    return figures


def _details(metrics_dir: Path, regime: str, dataset: str) -> dict | None:
    """The per-object scores of one run (``<metrics>/<regime>_<dataset>/metrics.json``), if written."""
    path = metrics_dir / f"{regime}_{dataset}" / "metrics.json"
    if not path.is_file():
        return None
    try:
        per_object = json.loads(path.read_text()).get("per_object")
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    return per_object if isinstance(per_object, dict) and per_object else None


def _differences_section(
    dataset: str, inputs: ReportInputs, regimes: list[str], notes: list[str]
) -> list[str]:
    """Markdown lines: the paired bootstrap of every later regime minus every earlier one."""
    title = TABLES[dataset][0]
    if inputs.bootstrap_samples < 1:
        notes.append(f"{title}: no paired differences (evaluate.bootstrap_samples is 0 or not given).")
        return []
    benchmark = BENCHMARK[dataset]
    runs = {}
    for regime in regimes:
        per_object = _details(inputs.metrics_dir, regime, dataset)
        if per_object is not None:
            runs[regime] = benchmark_objects(benchmark, per_object)
    figure, _, strata = HEADLINE[benchmark]
    rows, names = [], list(runs)
    for i, earlier in enumerate(names):
        for later in names[i + 1 :]:
            diff = paired_difference(
                runs[later], runs[earlier], samples=inputs.bootstrap_samples, seed=inputs.bootstrap_seed,
                strata=strata,
            )  # fmt: skip
            if diff is not None:
                rows.append(_difference_row(later, earlier, diff))
    if not rows:
        notes.append(f"{title}: no paired differences (fewer than two runs with per-object scores).")
        return []
    return [
        "",
        f"Paired differences in {figure} (percentage points), each over the same "
        f"{inputs.bootstrap_samples} resamples of {_units_text(next(iter(runs.values())))} "
        f"(seed {inputs.bootstrap_seed}); "
        "P(> 0): the share of resamples in which the first run scores higher.",
        "",
        "| Comparison | Difference | 95% interval | P(> 0) |",
        "|---|---|---|---|",
        *rows,
    ]


def _units_text(objects: list) -> str:
    """How many sequences a resample draws from, per stratum: few sequences, few distinct resamples."""
    strata: dict[str, set[str]] = {}
    for obj in objects:
        strata.setdefault(obj.stratum, set()).add(obj.unit)
    if set(strata) <= {ALL}:
        return f"the {len(strata.get(ALL, ()))} sequences"
    return (
        "the videos ("
        + ", ".join(f"{len(units)} with {name} objects" for name, units in sorted(strata.items()))
        + ")"
    )


def _difference_row(a: str, b: str, diff: Difference) -> str:
    name = f"{REGIMES.get(a, a)} − {REGIMES.get(b, b)}"
    return (
        f"| {name} | {100 * diff.value:+.1f} | [{100 * diff.lo:+.1f}, {100 * diff.hi:+.1f}] "
        f"| {diff.p_positive:.3f} |"
    )
