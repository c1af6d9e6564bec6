"""PNG plots of the report, rendered with matplotlib's Agg backend (no display, no network)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from hodor.extras import optional_import

matplotlib = optional_import("matplotlib", "the report's plots")
matplotlib.use("Agg")  # before pyplot: headless, deterministic
import matplotlib.pyplot as plt  # noqa: E402

from hodor.atomic import atomic_path  # noqa: E402

_SAVE = {"format": "png", "dpi": 110, "metadata": {"Software": None}}  # no version string: stable bytes


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, **_SAVE)
    plt.close(fig)
    return path


def read_dvclive_tsv(path: Path) -> tuple[list[float], list[float]]:
    """(steps, values) of one dvclive metric file: a header, then ``[timestamp<TAB>]step<TAB><value>`` rows
    (dvclive 3 writes the timestamp column only when asked to)."""
    steps, values = [], []
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if not header or "step" not in header or len(header) < 2 or header[-1] == "step":
            return [], []
        step_col = header.index("step")
        value_col = len(header) - 1
        for row in reader:
            try:
                step, value = float(row[step_col]), float(row[value_col])
            except (ValueError, IndexError):
                continue  # a half-written last line of a running training
            steps.append(step)
            values.append(value)
    return steps, values


def training_curves(metrics_dir: Path, title: str, path: Path) -> Path | None:
    """One panel per dvclive metric found under ``metrics_dir`` (``**/*.tsv``); None when there is none."""
    files = sorted(metrics_dir.rglob("*.tsv")) if metrics_dir.is_dir() else []
    series = [(f.relative_to(metrics_dir).with_suffix("").as_posix(), *read_dvclive_tsv(f)) for f in files]
    series = [s for s in series if s[1]]
    if not series:
        return None
    cols = min(3, len(series))
    rows = -(-len(series) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (name, steps, values) in zip(axes.flat, series, strict=False):
        ax.plot(steps, values, linewidth=1.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(series) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def per_sequence_bars(per_regime: dict[str, dict[str, float]], path: Path) -> Path | None:
    """Grouped bars of J&F (in %) per DAVIS sequence, one colour per training regime."""
    per_regime = {r: v for r, v in per_regime.items() if v}
    if not per_regime:
        return None
    sequences = sorted({s for values in per_regime.values() for s in values})
    width = 0.8 / len(per_regime)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(sequences) + 2), 3.8))
    for i, (regime, values) in enumerate(per_regime.items()):
        xs = [j + (i - (len(per_regime) - 1) / 2) * width for j in range(len(sequences))]
        ax.bar(xs, [100 * values.get(s, float("nan")) for s in sequences], width, label=regime)
    ax.set_xticks(range(len(sequences)))
    ax.set_xticklabels(sequences, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("J&F (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("DAVIS 2017 val: J&F per sequence")
    fig.tight_layout()
    return _save(fig, path)


def ablation_lines(windows: Sequence[float], series: dict[str, list[float]], path: Path) -> Path:
    """J&F (in %) against the temporal window, one line per metrics column."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in series.items():
        points = sorted((w, v) for w, v in zip(windows, values, strict=True) if v == v)  # drop NaN
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", label=label)
    ax.set_xlabel("temporal window (frames)")
    ax.set_ylabel("J&F (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Temporal-window ablation")
    fig.tight_layout()
    return _save(fig, path)
