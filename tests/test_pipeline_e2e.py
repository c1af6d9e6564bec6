"""The whole DVC pipeline, end to end, in a temporary clone, on a tiny profile.

What a user relies on: `dvc repro` builds everything; a second `dvc repro` does nothing;
`dvc exp run -S temporal_window=N` reruns only inference, scoring and the report; `dvc metrics diff`
shows the change; going back to the parameters computed before restores inference and scoring from DVC's
run-cache instead of rerunning them; `dvc push` to a remote and `dvc pull` in another clone restore every
output so that nothing reruns there; a bad params value stops the first stage that reads it, with a clear
message; what a failed stage removed comes back with `dvc checkout` (cached predictions) or `git checkout`
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

# Overrides that make the default (quick) profile tiny: a handful of steps, tiny data. The structure of
# params.yaml is unchanged, so this also checks that the default params file is complete.
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
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@localhost",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@localhost",
        OMP_NUM_THREADS="2",
    )
    return env


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)
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


def test_repro_experiment_push_pull(tmp_path: Path) -> None:
    work = _make_clone(tmp_path / "work")
    _run(["dvc", "repro"], work)
    for regime in ("static_image", "video_sparse", "video_dense"):
        davis = json.loads((work / f"metrics/{regime}_davis_val.json").read_text())
        assert 0.0 <= davis["J&F-Mean"] <= 1.0
        ytvos = json.loads((work / f"metrics/{regime}_youtube_vos_2019_val.json").read_text())
        assert 0.0 <= ytvos["G"] <= 1.0
    assert "J&F" in (work / "metrics/report.md").read_text()
    assert any((work / "plots").glob("*.png"))

    second = _run(["dvc", "repro"], work)
    assert _stages_run(second.stdout) == set(), second.stdout

    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-qm", "baseline results"], work)
    window = yaml.safe_load((work / "params.yaml").read_text())["temporal_window"]
    exp = _run(["dvc", "exp", "run", "-S", f"temporal_window={window + 4}"], work)
    rerun = _stages_run(exp.stdout)
    assert rerun, exp.stdout
    assert {name.split("@")[0] for name in rerun} <= {"infer", "evaluate", "report"}, rerun
    diff = _run(["dvc", "metrics", "diff", "--json"], work)
    assert "J&F-Mean" in diff.stdout or diff.stdout.strip() in ("{}", ""), diff.stdout
    _check_return_restores(work, window)

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


def _check_return_restores(work: Path, window: int) -> None:
    """Back to the committed ``temporal_window`` after an experiment: DVC's run-cache restores the 6
    inference and 6 scoring stages (no inference runs); only the report stage reruns (its markdown is a
    plain git-tracked output, which the run-cache does not take). The restored scores are the committed ones."""
    start = time.perf_counter()
    back = _run(["dvc", "exp", "run", "-S", f"temporal_window={window}"], work)
    seconds = time.perf_counter() - start
    restored = set(re.findall(r"Stage '([^']+)' is cached - skipping run", back.stdout))
    assert {name.split("@")[0] for name in restored} == {"infer", "evaluate"} and len(restored) == 12, (
        back.stdout
    )
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


def test_bad_params_value_stops_with_clear_message_and_keeps_outputs(tmp_path: Path) -> None:
    work = _make_clone(tmp_path / "work")
    _run(["dvc", "repro", "convert"], work)
    produced = work / "workspace/dataset_json_annotations/davis_val.json"
    before = produced.read_bytes()
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["data"]["davis_root"] = "data/nowhere/DAVIS"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = _run(["dvc", "repro", "convert"], work, check=False)
    assert proc.returncode != 0
    assert "data/nowhere/DAVIS" in proc.stdout + proc.stderr
    assert produced.read_bytes() == before
