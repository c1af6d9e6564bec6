"""What the pipeline's ``evaluate`` stage computes: one flat metrics dict per (regime, dataset).

The flat dict is what DVC tracks (``dvc metrics show``/``exp show`` get one column per figure); the
per-object details and the official CSVs go to a separate folder when asked for.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hodor.errors import InputError
from hodor.evaluate.bootstrap import headline_interval
from hodor.evaluate.davis import evaluate_davis
from hodor.evaluate.outputs import (
    write_davis_outputs,
    write_without_truth,
    write_youtube_vos_outputs,
)
from hodor.evaluate.youtube_vos import (
    GROUP_KEYS,
    RELEASED_WITHOUT_GT,
    evaluate_youtube_vos,
    youtube_vos_gt,
)

# pipeline dataset name -> (benchmark, DAVIS ImageSets subset or YouTube-VOS split)
DATASETS = {
    "davis_val": ("davis", "val"),
    "davis_train": ("davis", "train"),
    "youtube_vos_2019_val": ("youtube_vos", "valid"),
}
INFERENCE_SUMMARY = "inference_summary.json"


def inference_speed(predictions: Path) -> dict[str, float]:
    """``{"fps": ...}`` from the inference stage's summary if it wrote one (frames / seconds of loading and
    forward passes); only fps, so that ``dvc exp show`` gets one column per figure worth comparing."""
    path = predictions / INFERENCE_SUMMARY
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    fps = summary.get("fps") if isinstance(summary, dict) else None
    return {"fps": float(fps)} if isinstance(fps, (int, float)) and not isinstance(fps, bool) else {}


def youtube_vos_truth(root: Path, split: str, gt: str | None) -> Path | None:
    """The folder of a YouTube-VOS split's full ground truth, or None when there is none to score against.

    ``gt`` (params ``evaluate.youtube_vos_gt``, below ``root``) names it; the released ``<split>/Annotations``
    of ``valid``/``test`` (first-appearance masks) means "none". Without ``gt`` it is looked for
    (:func:`youtube_vos_gt`).
    """
    if gt is None:
        found = youtube_vos_gt(root, split)
        return found if found.is_dir() else None
    if split in RELEASED_WITHOUT_GT and Path(gt) == Path(split) / "Annotations":
        return None
    path = root / gt
    if not path.is_dir():
        raise InputError(
            f"{path}: ground truth folder not found (params evaluate.youtube_vos_gt: {gt}); without full "
            f"ground truth set evaluate.youtube_vos_gt: {split}/Annotations (null scores; submit the zip)"
        )
    return path


def evaluate_dataset(
    dataset: str,
    predictions: Path,
    *,
    davis_root: Path,
    youtube_vos_root: Path,
    youtube_vos_gt: str | None = None,
    details_dir: Path | None = None,
    workers: int = 2,
    progress: bool = False,
    bootstrap_samples: int = 0,
    bootstrap_seed: int = 0,
) -> dict[str, float | None]:
    """Score one inference output; returns the flat metrics (plus ``fps`` when known).

    DAVIS: the 7 official global figures. YouTube-VOS: ``G, J-seen, F-seen, J-unseen, F-unseen``, all
    None when the split has no full ground truth (the real val set: submit the zip to the server);
    ``youtube_vos_gt``: see :func:`youtube_vos_truth`.
    With ``bootstrap_samples`` > 0, the 95% interval of the headline figure follows
    (``J&F-Mean-ci95-lo``/``-hi`` or ``G-ci95-lo``/``-hi``; :mod:`hodor.evaluate.bootstrap`).
    """
    boot = {"samples": bootstrap_samples, "seed": bootstrap_seed}
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    benchmark, split = DATASETS[dataset]
    predictions = Path(predictions)
    if benchmark == "davis":
        result = evaluate_davis(davis_root, predictions, split, workers=workers, progress=progress)
        if details_dir is not None:
            write_davis_outputs(result, details_dir)
        metrics: dict[str, float | None] = dict(result.global_metrics)
        if bootstrap_samples:
            metrics.update(headline_interval("davis", result.to_json()["per_object"], **boot))
    else:
        gt = youtube_vos_truth(Path(youtube_vos_root), split, youtube_vos_gt)
        if gt is None:
            metrics = {k: None for k in ("G", *GROUP_KEYS)}  # no interval keys: nothing to bound
            if details_dir is not None:
                write_without_truth(details_dir, split)
        else:
            yt = evaluate_youtube_vos(
                gt,
                Path(youtube_vos_root) / split / "meta.json",
                Path(youtube_vos_root) / "train" / "meta.json",
                predictions,
                split=split,
                workers=workers,
                progress=progress,
            )
            if details_dir is not None:
                write_youtube_vos_outputs(yt, details_dir)
            metrics = {k: None if math.isnan(v) else v for k, v in yt.metrics.items()}
            if bootstrap_samples:
                metrics.update(headline_interval("youtube_vos", yt.to_json()["per_object"], **boot))
    metrics.update(inference_speed(predictions))
    return metrics
