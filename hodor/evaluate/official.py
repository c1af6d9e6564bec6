"""``--backend official``: DAVIS scores computed by the official ``davis2017-evaluation`` toolkit itself.

For a user who trusts only the official code: its ``DAVISEvaluation`` scores every object, and its
per-object statistics and global means (``evaluation_method.py``'s arithmetic) fill the same
:class:`DavisResult` as our scorer, so the same CSVs and ``metrics.json`` are written. Nothing of the
toolkit is copied here; it is imported either as an installed ``davis2017`` package or from a folder given
by the caller (e.g. a clone of the toolkit). Its own behaviour is kept, quirks included: it lists frames
from ``JPEGImages/480p`` (so those must be present), prints a progress bar, returns NaN decays past 256
scored frames (uint8 bin ids), and stops on bad input with ``sys.exit()`` (turned into an InputError here).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from hodor.errors import InputError
from hodor.evaluate.davis import TASKS, DavisResult, ObjectResult, read_sequence_list
from hodor.evaluate.measures import Statistics

TOOLKIT = "the official DAVIS toolkit (davis2017-evaluation)"


def import_official(path: str | Path | None = None) -> ModuleType:
    """``davis2017.evaluation`` from ``path`` (the folder holding ``davis2017/``) or the installed package."""
    entry = None
    if path is not None:
        folder = Path(path)
        entry = str(folder)
        if not (folder / "davis2017" / "evaluation.py").is_file():
            raise InputError(
                f"--official-path {folder}: no davis2017/evaluation.py there; pass the folder of a "
                "davis2017-evaluation clone (the one holding davis2017/ and evaluation_method.py)"
            )
        sys.path.insert(0, entry)
    try:
        module = importlib.import_module("davis2017.evaluation")
    except ImportError as err:
        where = f"from {path}" if path is not None else "(no installed davis2017 package)"
        raise InputError(
            f"cannot import {TOOLKIT} {where}: {err}. Pass --official-path to a davis2017-evaluation clone "
            "(its dependencies numpy, Pillow, OpenCV, scikit-image, scipy and tqdm must be installed), or "
            "use the default --backend ours, which gives the same numbers"
        ) from None
    finally:
        if entry is not None:
            sys.path.remove(entry)
    if path is not None and Path(module.__file__).resolve().parent != (folder / "davis2017").resolve():
        raise InputError(
            f"a davis2017 package from {Path(module.__file__).parent} was already imported; "
            f"--official-path {folder} cannot replace it in this process"
        )
    return module


def _statistics(measure: dict, index: int) -> Statistics:
    return Statistics(float(measure["M"][index]), float(measure["R"][index]), float(measure["D"][index]))


def evaluate_davis_official(
    davis_root: str | Path,
    results_dir: str | Path,
    subset: str = "val",
    *,
    task: str = "semi-supervised",
    official_path: str | Path | None = None,
) -> DavisResult:
    """Score with the official toolkit; ``sequences`` of the result is empty (it returns no per-frame values)."""
    start = time.perf_counter()
    if task not in TASKS:
        raise InputError(f"unsupported DAVIS task {task!r}; supported: {', '.join(TASKS)}")
    read_sequence_list(Path(davis_root), subset)  # our clear error for a wrong root or set
    if not Path(results_dir).is_dir():
        raise InputError(f"results folder {results_dir} does not exist")
    evaluation = import_official(official_path)
    try:
        scorer = evaluation.DAVISEvaluation(str(davis_root), task=task, gt_set=subset)
        metrics = scorer.evaluate(str(results_dir))
    except FileNotFoundError as err:
        raise InputError(
            f"{TOOLKIT}: {err} (it lists each sequence's frames from {davis_root}/JPEGImages/480p, "
            "which must hold the .jpg frames)"
        ) from None
    except SystemExit:
        raise InputError(
            f"{TOOLKIT} stopped on bad input in {results_dir} (its message is printed above)"
        ) from None
    j, f = metrics["J"], metrics["F"]
    names = list(j["M_per_object"])
    objects = [
        ObjectResult(name, name.rsplit("_", 1)[0], _statistics(j, i), _statistics(f, i))
        for i, name in enumerate(names)
    ]
    if not objects:
        raise InputError("no object to score: every first ground-truth frame is empty")
    # evaluation_method.py's global figures: plain means over the objects
    j_mean, f_mean = float(np.mean(j["M"])), float(np.mean(f["M"]))
    global_metrics = {
        "J&F-Mean": (j_mean + f_mean) / 2.0,
        "J-Mean": j_mean,
        "J-Recall": float(np.mean(j["R"])),
        "J-Decay": float(np.mean(j["D"])),
        "F-Mean": f_mean,
        "F-Recall": float(np.mean(f["R"])),
        "F-Decay": float(np.mean(f["D"])),
    }
    return DavisResult(subset, [], objects, global_metrics, time.perf_counter() - start)
