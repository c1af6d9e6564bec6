"""The whole DVC pipeline, end to end, in a temporary clone, on a tiny profile.

What a user relies on: `dvc repro` builds everything, baselines and 95% intervals included; a second
`dvc repro` does nothing; `dvc exp run -S temporal_window=N` runs (or restores from DVC's run cache) every
stage that reads `temporal_window` and what depends on them, and nothing upstream of inference (both sets
derived from the params and paths DVC recorded for dvc.yaml's stages); `dvc metrics diff` lists the changed
J&F; going back to the parameters computed before restores inference and scoring from DVC's run-cache
instead of rerunning them; `dvc push` to a remote and `dvc pull` in another clone restore every output so
that nothing reruns there; a bad params value stops the first stage that reads it, with a clear message;
what a failed stage removed comes back with `dvc checkout` (cached predictions) or `git checkout`
(git-tracked scores); conversions (persist) are left in place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

# Overrides that make the default (quick) profile tiny: tiny data, small training crops, 60 pretraining
# and 2 + 2 finetuning steps. The structure of params.yaml is unchanged, so this also checks that the
# default params file is complete. Measured on this profile (OMP_NUM_THREADS=1): copy-the-first-frame-mask
# DAVIS J&F 18.1 / YouTube-VOS G 6.5; static 47.5 / 42.0, sparse 50.2 / 39.2, dense 50.6 / 39.8.
TINY_OVERRIDES: dict[str, object] = {
    "data.synthetic.scale": "tiny",
    "min_image_dim": 96,
    **{
        f"{section}.{key}": value
        for section in ("pretrain", "finetune.sparse", "finetune.dense")
        for key, value in (
            ("iterations", 2),
            ("save_interval", 1),
            ("min_ref_mask_area", 50),
            ("min_ref_mask_dim", 4),
        )
    },
    # enough static-image training that the model beats copying the first-frame mask by a wide margin
    "pretrain.iterations": 60,
    "pretrain.save_interval": 30,
    "pretrain.warmup_iters": 5,
    "pretrain.lr_steps": [50],
    "pretrain.max_image_area": 6144,
    "pretrain.min_dim": 64,
    "pretrain.max_dim": 128,
}

# J&F (0-1) by which the static-image model must beat copying the first-frame mask on this profile's DAVIS
# val, set well below the measured gap (None would switch the check off). Measured on the tiny profile above
# (one thread, stages run one by one): static 0.475 vs copy 0.181, a gap of 0.294; with 2 training steps
# the gap was -0.575 (the model had not learned).
COPY_MARGIN: float | None = 0.10


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@localhost",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@localhost",
        OMP_NUM_THREADS="1",  # the suite runs beside it on the other core (pytest-xdist)
    )
    return env


# A guard against a hang, not a speed target: at load 9-12 on the 2-core machine the tiny `dvc repro` (60
# pretraining steps) ran past 900 s, and the killed run left nothing to look at.
COMMAND_TIMEOUT_S = 2400


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def _set_key(params: dict, dotted: str, value: object) -> None:
    node = params
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node[key]
    assert leaf in node, f"params.yaml has no key {dotted}"
    node[leaf] = value


def _make_clone(dest: Path) -> Path:
    """Copy the working tree's tracked and new files (what a commit of it would hold) and commit it."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    for key, value in TINY_OVERRIDES.items():
        _set_key(params, key, value)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q", "-b", "main"], dest)
    _run(["git", "add", "-A"], dest)
    _run(["git", "commit", "-qm", "tiny profile"], dest)
    return dest


def _stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


# --- what `dvc exp run -S temporal_window=N` must (re)run, and what its metrics diff must show ---------


def _stages_restored(output: str) -> set[str]:
    """Stages DVC took from its run cache instead of running them (same command, deps and params)."""
    return set(re.findall(r"Stage '([^']+)' is cached - skipping run", output))


def _locked_stages(work: Path) -> dict[str, dict]:
    """dvc.lock's stages: every stage of dvc.yaml expanded (foreach/matrix), with the params keys it
    declares and the paths of its deps and outs, as DVC resolved them."""
    return yaml.safe_load((work / "dvc.lock").read_text())["stages"]


def _stages_reading(stages: dict[str, dict], key: str) -> set[str]:
    return {name for name, st in stages.items() if key in (st.get("params") or {}).get("params.yaml", {})}


def _producers(stages: dict[str, dict]) -> dict[str, set[str]]:
    """Stage -> the stages one of whose outputs it depends on (same path, or one path inside the other)."""

    def feeds(out: str, dep: str) -> bool:
        return dep == out or dep.startswith(out + "/") or out.startswith(dep + "/")

    outs = {name: [o["path"] for o in st.get("outs", [])] for name, st in stages.items()}
    return {
        name: {
            other
            for other, paths in outs.items()
            if other != name and any(feeds(o, d["path"]) for o in paths for d in st.get("deps", []))
        }
        for name, st in stages.items()
    }


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), set()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _check_experiment_reruns(stages: dict[str, dict], key: str, output: str) -> None:
    """Every stage reading ``key`` ran or was restored; the stages that ran are those and what lies
    downstream of them; none upstream of the first of them (inference) ran."""
    reading = _stages_reading(stages, key)
    assert reading, f"no stage of dvc.lock declares the param {key}"
    up = _producers(stages)
    down: dict[str, set[str]] = {}
    for name, producers in up.items():
        for producer in producers:
            down.setdefault(producer, set()).add(name)
    first = {s for s in reading if not _closure({s}, up) & reading}  # the inference stages
    ran, restored = _stages_run(output), _stages_restored(output)
    assert reading <= ran | restored, (
        f"stages reading {key} neither ran nor were restored: {reading - ran - restored}"
    )
    assert not (ran | restored) & _closure(first, up), (
        f"upstream of {sorted(first)} ran: {(ran | restored) & _closure(first, up)}"
    )
    assert ran <= first | _closure(first, down), (
        f"stages outside {key}'s reach ran: {ran - first - _closure(first, down)}"
    )


def _check_metrics_diff_lists_changed_jf(work: Path) -> dict[str, dict]:
    """`dvc metrics diff` (workspace vs HEAD) lists a J&F-Mean whose value changed; returns those rows."""
    diff = json.loads(_run(["dvc", "metrics", "diff", "--json"], work).stdout or "{}")
    changed = {
        path: rows["J&F-Mean"] for path, rows in diff.items() if (rows.get("J&F-Mean") or {}).get("diff")
    }
    assert changed, f"dvc metrics diff lists no changed J&F-Mean: {diff}"
    return changed


# --- baselines and intervals of a full run --------------------------------------------------------------


def _check_results(work: Path, copy_margin: float | None) -> None:
    """Every run (baselines included) scored with its 95% interval around the point value; the report
    pairs them; copying the first-frame mask beats the untrained model; the static-image model beats
    copying by ``copy_margin`` J&F (when the profile sets one)."""
    for regime in ("untrained", "copy_first_frame", "static_image", "video_sparse", "video_dense"):
        for dataset, figure in (("davis_val", "J&F-Mean"), ("youtube_vos_2019_val", "G")):
            scores = json.loads((work / f"metrics/{regime}_{dataset}.json").read_text())
            lo, value, hi = scores[f"{figure}-ci95-lo"], scores[figure], scores[f"{figure}-ci95-hi"]
            assert 0.0 <= lo <= value <= hi <= 1.0, (regime, dataset, scores)
    jf = {
        r: json.loads((work / f"metrics/{r}_davis_val.json").read_text())["J&F-Mean"]
        for r in ("untrained", "copy_first_frame", "static_image")
    }
    report = (work / "metrics/report.md").read_text()
    assert "| Static images (COCO) − Copy the first-frame mask |" in report, report
    # The copy baseline's masks reach the scoring (test profile: copy 0.181 vs untrained 0.027 J&F).
    assert jf["copy_first_frame"] > jf["untrained"] + 0.05, jf
    if copy_margin is not None:
        assert jf["static_image"] >= jf["copy_first_frame"] + copy_margin, jf


def test_repro_experiment_push_pull(tmp_path: Path) -> None:
    work = _make_clone(tmp_path / "work")
    _run(["dvc", "repro"], work)
    _check_results(work, COPY_MARGIN)
    assert "J&F" in (work / "metrics/report.md").read_text()
    assert any((work / "plots").glob("*.png"))

    second = _run(["dvc", "repro"], work)
    assert _stages_run(second.stdout) == set(), second.stdout

    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-qm", "baseline results"], work)
    window = yaml.safe_load((work / "params.yaml").read_text())["temporal_window"]
    stages = _locked_stages(work)
    exp = _run(["dvc", "exp", "run", "-S", f"temporal_window={window + 4}"], work)
    _check_experiment_reruns(stages, "temporal_window", exp.stdout)
    _check_metrics_diff_lists_changed_jf(work)
    _check_return_restores(work, window, _stages_run(exp.stdout))

    _run(["git", "checkout", "-q", "."], work)  # back to the committed baseline params
    _run(["dvc", "checkout", "-q"], work)
    _run(["dvc", "remote", "add", "-d", "local", str(tmp_path / "remote")], work)
    _run(["dvc", "push", "-q"], work)
    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-qm", "remote"], work)
    other = tmp_path / "other"
    _run(["git", "clone", "-q", str(work), str(other)], tmp_path)
    _run(["dvc", "pull", "-q"], other)
    status = _run(["dvc", "status"], other)
    assert "up to date" in status.stdout, status.stdout
    again = _run(["dvc", "repro"], other)
    assert _stages_run(again.stdout) == set(), again.stdout

    _check_failed_stages_outputs_come_back(work)
    _check_missing_root_stops_conversion_and_keeps_outputs(work)


def _check_return_restores(work: Path, window: int, experiment_ran: set[str]) -> None:
    """Back to the committed ``temporal_window`` after an experiment: DVC's run-cache restores every
    inference and scoring stage the experiment ran (no inference runs); only the report stage reruns (its
    markdown is a plain git-tracked output, which the run-cache does not take). The restored scores are the
    committed ones."""
    start = time.perf_counter()
    back = _run(["dvc", "exp", "run", "-S", f"temporal_window={window}"], work)
    seconds = time.perf_counter() - start
    restored = set(re.findall(r"Stage '([^']+)' is cached - skipping run", back.stdout))
    expected = {name for name in experiment_ran if name.split("@")[0] in ("infer", "evaluate")}
    assert any(name.startswith("infer@") for name in expected), experiment_ran
    assert restored == expected, back.stdout
    assert _stages_run(back.stdout) == {"report"}, back.stdout
    assert not re.search(r"^infer \w+: \d+ sequences", back.stdout, re.M), "an inference stage ran"
    changed = _run(["git", "status", "--porcelain", "--", "dvc.lock", "metrics/", "outputs/"], work).stdout
    assert changed == "", changed  # the lock, the scores and the report equal the committed baseline's
    print(f"back to temporal_window={window}: restored in {seconds:.1f} s")


def _check_failed_stages_outputs_come_back(work: Path) -> None:
    """A bad value stops the first stage that reads it, clearly. That stage's outputs are not persist:
    DVC removed them before running it, and `dvc checkout` (cached predictions) or `git checkout`
    (git-tracked scores) brings them back byte for byte."""
    predictions = sorted(p for p in (work / "outputs").rglob("*") if p.is_file())
    scores = sorted(p for p in (work / "metrics").rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in [*predictions, *scores]}
    for key, value, message, restore in (
        ("temporal_window", -1, "temporal_window must be >= 1", ["dvc", "checkout", "-q"]),
        ("evaluate.workers", 0, "workers must be >= 1", ["git", "checkout", "-q", "--", "metrics"]),
    ):
        params = yaml.safe_load((work / "params.yaml").read_text())
        _set_key(params, key, value)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        bad = _run(["dvc", "repro"], work, check=False)
        assert bad.returncode != 0
        assert message in bad.stdout + bad.stderr
        assert "Traceback" not in bad.stdout + bad.stderr
        assert any(not p.exists() for p in before), f"{key}: the failed stage removed nothing"
        _run(["git", "checkout", "-q", "--", "params.yaml"], work)
        _run(restore, work)
        assert predictions and {p: p.read_bytes() for p in before} == before, key


def _check_missing_root_stops_conversion_and_keeps_outputs(work: Path) -> None:
    """A dataset root that does not exist stops the conversions with a message naming it, and the JSONs
    converted before (persist) stay as they were. Runs last on the built tree, which it does not restore
    (rather than a clone and conversion of its own)."""
    produced = work / "workspace/dataset_json_annotations/davis_val.json"
    before = produced.read_bytes()
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["data"]["davis_root"] = "data/nowhere/DAVIS"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = _run(["dvc", "repro", "convert"], work, check=False)
    assert proc.returncode != 0
    assert "data/nowhere/DAVIS" in proc.stdout + proc.stderr
    assert produced.read_bytes() == before
