"""Result files: the official toolkit's CSVs (3 decimals) and our full-precision metrics JSON."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from hodor.atomic import write_json, write_text
from hodor.evaluate.davis import GLOBAL_COLUMNS, DavisResult
from hodor.evaluate.youtube_vos import YouTubeVOSResult

YOUTUBE_VOS_COLUMNS = ("G", "J-seen", "F-seen", "J-unseen", "F-unseen")


def _fmt(value: float) -> str:
    # pandas ``to_csv(float_format="%.3f")`` as the official toolkit calls it; NaN as an empty field
    return "" if math.isnan(value) else f"{value:.3f}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # pandas' defaults: minimal quoting, "\n"
    writer.writerows(rows)
    return buffer.getvalue()


def global_csv(result: DavisResult) -> str:
    """``global_results-<set>.csv``: one header row and one row of the 7 global figures."""
    return _csv([list(GLOBAL_COLUMNS), [_fmt(result.global_metrics[c]) for c in GLOBAL_COLUMNS]])


def per_sequence_csv(result: DavisResult) -> str:
    """``per-sequence_results-<set>.csv``: ``Sequence,J-Mean,F-Mean``, one row per object."""
    rows = [["Sequence", "J-Mean", "F-Mean"]]
    rows += [[o.name, _fmt(o.j.mean), _fmt(o.f.mean)] for o in result.objects]
    return _csv(rows)


def write_davis_outputs(result: DavisResult, out_dir: str | Path) -> list[Path]:
    """Write the two official CSVs and ``metrics.json`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    paths = [
        out_dir / f"global_results-{result.subset}.csv",
        out_dir / f"per-sequence_results-{result.subset}.csv",
        out_dir / "metrics.json",
    ]
    write_text(paths[0], global_csv(result))
    write_text(paths[1], per_sequence_csv(result))
    write_json(paths[2], result.to_json(), indent=1)
    return paths


def format_global_table(result: DavisResult) -> str:
    """The global figures as an aligned text table (what the official script prints)."""
    widths = [max(len(c), 6) for c in GLOBAL_COLUMNS]
    header = "  ".join(c.rjust(w) for c, w in zip(GLOBAL_COLUMNS, widths, strict=True))
    values = "  ".join(
        _fmt(result.global_metrics[c]).rjust(w) for c, w in zip(GLOBAL_COLUMNS, widths, strict=True)
    )
    title = f" Global results for {result.subset} "
    return f"{title.center(len(header), '-')}\n{header}\n{values}"


def format_sequence_table(result: DavisResult) -> str:
    """Per-object J-Mean / F-Mean as an aligned text table."""
    width = max([len("Sequence")] + [len(o.name) for o in result.objects])
    lines = [f"{'Sequence'.ljust(width)}  J-Mean  F-Mean"]
    lines += [f"{o.name.ljust(width)}  {_fmt(o.j.mean):>6}  {_fmt(o.f.mean):>6}" for o in result.objects]
    return "\n".join(lines)


def write_youtube_vos_outputs(result: YouTubeVOSResult, out_dir: str | Path) -> list[Path]:
    """``global_results-<split>.csv``, ``per-object_results-<split>.csv`` and ``metrics.json``."""
    out_dir = Path(out_dir)
    paths = [
        out_dir / f"global_results-{result.split}.csv",
        out_dir / f"per-object_results-{result.split}.csv",
        out_dir / "metrics.json",
    ]
    rows = [list(YOUTUBE_VOS_COLUMNS), [_fmt(result.metrics[c]) for c in YOUTUBE_VOS_COLUMNS]]
    write_text(paths[0], _csv(rows))
    per_object = [["Video", "Object", "Category", "Seen", "Frames", "J-Mean", "F-Mean"]]
    per_object += [
        [
            o.video,
            str(o.object_id),
            o.category,
            str(o.seen).lower(),
            str(o.frames),
            _fmt(o.j_mean),
            _fmt(o.f_mean),
        ]
        for o in result.objects
    ]
    write_text(paths[1], _csv(per_object))
    write_json(paths[2], result.to_json(), indent=1)
    return paths


def write_without_truth(out_dir: str | Path, split: str) -> Path:
    """The details folder of a split scored without ground truth (the real YouTube-VOS val set).

    The folder is a declared output of the evaluate stage, so it must exist even when nothing could be
    scored; its ``metrics.json`` holds no objects (the report then shows no interval or difference) and
    says why.
    """
    path = Path(out_dir) / "metrics.json"
    note = f"{split}: no full ground truth; submit Annotations.zip to the challenge server for scores"
    write_json(path, {"split": split, "per_object": {}, "note": note}, indent=1)
    return path


def format_youtube_vos_table(result: YouTubeVOSResult) -> str:
    """The five YouTube-VOS figures with the number of objects per group."""
    seen = sum(o.seen for o in result.objects)
    header = "  ".join(c.rjust(8) for c in YOUTUBE_VOS_COLUMNS)
    values = "  ".join(
        _fmt(result.metrics[c]).rjust(8) if not math.isnan(result.metrics[c]) else "n/a".rjust(8)
        for c in YOUTUBE_VOS_COLUMNS
    )
    title = f" YouTube-VOS {result.split}: {seen} seen / {len(result.objects) - seen} unseen objects "
    return f"{title.center(len(header), '-')}\n{header}\n{values}"


def format_youtube_vos_objects(result: YouTubeVOSResult) -> str:
    """Per-object J / F (mean over the object's scored frames) as an aligned text table."""
    names = [f"{o.video}_{o.object_id}" for o in result.objects]
    width = max([len("Object")] + [len(n) for n in names])
    lines = [f"{'Object'.ljust(width)}  {'category':<16} seen  frames  J-Mean  F-Mean"]
    for name, o in zip(names, result.objects, strict=True):
        seen = "yes" if o.seen else "no"
        lines.append(
            f"{name.ljust(width)}  {o.category:<16} {seen:<4}  {o.frames:>6}  {_fmt(o.j_mean):>6}  {_fmt(o.f_mean):>6}"
        )
    return "\n".join(lines)
