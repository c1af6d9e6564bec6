"""Long runs survive: SIGKILL anywhere, full disk, unreadable checkpoints, definition changes, `dvc repro`.

The kill tests run the real stage command, once stopped by SIGKILL at a point drawn from a logged seed
(through a training hook: between forwards of an accumulated step, after an optimizer step, or in any
phase of a checkpoint write), then the same command again. Per-step losses (dvclive curves at
``log_interval: 1``), every curve and the final weights must equal an uninterrupted run bit for bit.
Set ``HODOR_KILL_SEED`` to replay a drawn point.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import random
import runpy
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hodor.config import to_dict
from hodor.errors import InputError
from hodor.train import checkpoint as ckpt
from hodor.train.loop import Hook
from hodor.train.resume import ASIDE_FILE, aside_root, cut_curves, prune_aside
from hodor.train.run import train
from hodor.train.toydata import make_toy_workspace, toy_model_params, toy_train_params

REPO = Path(__file__).resolve().parents[1]
STEPS, SAVE = 4, 2  # checkpoints at steps 2 and 4, then final.pth; 2 forwards per step (accumulation)
STAGE = {"static": "pretrain", "sparse": "finetune", "dense": "finetune"}
LIVE = {"static": "static_image", "sparse": "video_sparse", "dense": "video_dense"}


def _model():
    # lcnet_035 instead of resnet18: checkpoints of ~2 MB keep the many writes of these tests fast
    return dataclasses.replace(toy_model_params(), backbone="lcnet_035")


def _train_params(**overrides):
    base = dict(iterations=STEPS, save_interval=SAVE, log_interval=1, keep_last=1)
    return toy_train_params(**{**base, **overrides})


def _params_file(path: Path, **overrides) -> Path:
    train = to_dict(_train_params(**overrides))
    data = {
        "seed": 0,
        "model": to_dict(_model()),
        "pretrain": train,
        "finetune": {"regimes": ["sparse", "dense"], "sparse": train, "dense": train},
        "official": {"json_dir": None, "static_image": None, "video_sparse": None, "video_dense": None},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


@dataclasses.dataclass
class Setup:
    root: Path
    workspace: Path
    params: Path
    init: Path  # a static final.pth for the video regimes


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("resume")
    ws = make_toy_workspace(root / "ws", images=4, videos=2)
    params = _params_file(root / "params.yaml")
    init = root / "init"
    train("static", model_params=_model(), params=_train_params(iterations=1), seed=0, workspace=ws,
          out_dir=init, progress=False, say=lambda line: None)  # fmt: skip
    return Setup(root, ws, params, init / "final.pth")


def _stage_argv(s: Setup, regime: str, run: Path) -> list[str]:
    argv = ["--params", str(s.params), "--workspace", str(s.workspace), "--out", str(run / "ckpt"),
            "--live", str(run / "live" / LIVE[regime]), "--no-progress"]  # fmt: skip
    return argv if regime == "static" else ["--regime", regime, "--init", str(s.init), *argv]


# Runs the stage's main() with a hook that SIGKILLs the process at the given point.
KILL_DRIVER = """
import os, runpy, signal, sys
from pathlib import Path
from hodor.train.loop import Hook
kind, step, target, stage, *argv = sys.argv[1:]
step = int(step)

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class Kill(Hook):
    def after_forward(self, trainer, sub):
        if kind == "forward" and trainer.step + 1 == step and sub == 0:
            die()
    def after_step(self, trainer, metrics):
        if kind == "step" and trainer.step == step:
            die()
    def checkpoint_phase(self, trainer, path, phase):
        if phase == kind and Path(path).name == target:
            die()

main = runpy.run_path(str(Path("stages") / f"{stage}.py"))["main"]
sys.exit(main(argv, hooks=[Kill()]))
"""


def kill_points() -> list[tuple[str, int, str]]:
    """Every place a run can die: (kind, step, checkpoint file name)."""
    points = [("forward", s, "") for s in range(1, STEPS + 1)] + [
        ("step", s, "") for s in range(1, STEPS + 1)
    ]
    files = [(s, f"{s:06d}.pth") for s in range(SAVE, STEPS + 1, SAVE)] + [(STEPS, ckpt.FINAL)]
    return points + [(phase, s, name) for s, name in files for phase in ckpt.PHASES]


def _run_stage(s: Setup, regime: str, run: Path, kill: tuple[str, int, str] | None = None):
    argv = _stage_argv(s, regime, run)
    if kill is None:
        cmd = [sys.executable, f"stages/{STAGE[regime]}.py", *argv]
    else:
        kind, step, target = kill
        cmd = [sys.executable, "-c", KILL_DRIVER, kind, str(step), target or "-", STAGE[regime], *argv]
    return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)


def _stage_in_process(s: Setup, regime: str, run: Path, *extra: str) -> int:
    """The stage's main() in this process (saves the ~5 s start-up of a Python with torch)."""
    main = runpy.run_path(str(REPO / "stages" / f"{STAGE[regime]}.py"))["main"]
    return main([*_stage_argv(s, regime, run), *extra])


def _curves(live: Path) -> dict[str, list[str]]:
    """Every curve except the measured speed, as its text rows (exact float reprs)."""
    found = {}
    for tsv in sorted((live / "plots/metrics").rglob("*.tsv")):
        if tsv.stem != "it_per_s":
            found[tsv.stem] = tsv.read_text().splitlines()
    return found


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def _assert_same_run(run: Path, ref: Path, regime: str) -> None:
    got, want = _curves(run / "live" / LIVE[regime]), _curves(ref / "live" / LIVE[regime])
    assert set(got) == set(want) >= {"loss", "lr", "dice", "ce", "iou"}
    assert len(want["loss"]) == STEPS + 1, "one row per step (log_interval 1) plus the header"
    for name in want:
        assert got[name] == want[name], f"curve {name}: {got[name]} vs uninterrupted {want[name]}"
    a, b = _weights(run / "ckpt/final.pth"), _weights(ref / "ckpt/final.pth")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"final weight {name} differs from the uninterrupted run"


def kill_and_resume(s: Setup, regime: str, point: tuple[str, int, str], ref: Path, run: Path) -> str:
    """Kill the stage at ``point``, run the same command again; returns the second run's output."""
    killed = _run_stage(s, regime, run, point)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {point}: {killed.stderr[-2000:]}"
    again = _run_stage(s, regime, run)
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_same_run(run, ref, regime)
    assert not list((run / "ckpt").glob(".*.tmp")), "an interrupted write left its temporary file"
    return again.stdout


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["static", "sparse", "dense"])
def test_sigkill_anywhere_then_same_command_is_bit_exact(setup: Setup, regime: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("HODOR_KILL_SEED", random.SystemRandom().randrange(2**32)))
    point = random.Random(f"{seed}-{regime}").choice(kill_points())
    print(f"kill seed {seed} ({regime}): {point}")  # shown on failure; replay with HODOR_KILL_SEED
    assert _stage_in_process(setup, regime, tmp_path / "ref") == 0
    out = kill_and_resume(setup, regime, point, tmp_path / "ref", tmp_path / "run")
    resumed = _last_complete_checkpoint(*point)
    assert (f"from step {resumed} (" if resumed else "fresh start") in out, out


def _last_complete_checkpoint(kind: str, step: int, name: str) -> int:
    """The step a run killed at this point resumes from: a file counts once renamed into place."""
    if kind == "renamed":
        return step
    if name == ckpt.FINAL:
        return STEPS  # STEPS is a multiple of SAVE: its NNNNNN.pth was written before final.pth
    return (step - 1) // SAVE * SAVE


def test_second_run_trains_nothing_and_no_resume_sets_aside(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _stage_in_process(setup, "static", tmp_path) == 0
    final = (tmp_path / "ckpt/final.pth").read_bytes()
    capsys.readouterr()
    assert _stage_in_process(setup, "static", tmp_path) == 0
    again = capsys.readouterr().out
    assert f"complete from step {STEPS}" in again and "no step to train" in again, again
    assert (tmp_path / "ckpt/final.pth").read_bytes() == final
    assert _stage_in_process(setup, "static", tmp_path, "--no-resume") == 0
    fresh = capsys.readouterr().out
    assert "--no-resume: starting fresh" in fresh and "moved aside to" in fresh and "4 steps in" in fresh, (
        fresh
    )
    (aside,) = list(aside_root(tmp_path / "ckpt").iterdir())
    assert (aside / "final.pth").read_bytes() == final and (
        aside / "live/plots/metrics/train/loss.tsv"
    ).is_file()


class _DiskFullAt(Hook):
    """Injects ENOSPC into the write of one checkpoint file, after its first bytes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def checkpoint_phase(self, trainer, path: Path, phase: str) -> None:
        if phase == "partial" and path.name == self.name:
            raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_keeps_the_previous_checkpoint_and_a_bad_file_is_skipped(
    setup: Setup, tmp_path: Path
) -> None:
    out, lines = tmp_path / "ckpt", []
    kw = dict(model_params=_model(), params=_train_params(), seed=0, workspace=setup.workspace, out_dir=out,
              progress=False, say=lines.append)  # fmt: skip
    with pytest.raises(ckpt.DiskFullError, match=r"000004\.pth: the disk is full .* earlier checkpoints"):
        train("static", hooks=[_DiskFullAt("000004.pth")], **kw)
    assert sorted(p.name for p in out.iterdir()) == ["000002.pth", "run.json"], "no temporary file left"
    assert ckpt.load(out / "000002.pth")["iterations"] == 2
    (out / "000004.pth").write_bytes(b"PK\x03\x04 cut short by a crash")  # newest file never reached the disk
    lines.clear()
    summary = train("static", **kw)
    assert any("skipping" in x and "000004.pth" in x and "does not load" in x for x in lines), lines
    assert any("resuming from step 2" in x for x in lines), lines
    assert summary.steps == STEPS - 2 and ckpt.load(out / "final.pth")["iterations"] == STEPS


class _CtrlC(Hook):
    def after_step(self, trainer, metrics) -> None:
        if trainer.step == 3:
            raise KeyboardInterrupt


def test_ctrl_c_then_resume_logs_the_same_means_off_the_log_interval(setup: Setup, tmp_path: Path) -> None:
    """Rows average the steps since the previous row (log_interval 3): the steps before the checkpoint at
    step 2 are in the checkpoint, so the resumed row for step 3 is the mean of steps 1-3, as without a stop."""
    params = _train_params(log_interval=3)
    kw = dict(model_params=_model(), params=params, seed=0, workspace=setup.workspace, progress=False,
              say=lambda line: None)  # fmt: skip
    train("static", out_dir=tmp_path / "ref/ckpt", live_dir=tmp_path / "ref/live/static_image", **kw)
    run = dict(out_dir=tmp_path / "run/ckpt", live_dir=tmp_path / "run/live/static_image")
    with pytest.raises(KeyboardInterrupt):
        train("static", hooks=[_CtrlC()], **run, **kw)
    assert train("static", **run, **kw).steps == STEPS - 2
    want = _curves(tmp_path / "ref/live/static_image")
    assert [r.split("\t")[0] for r in want["loss"]] == ["step", "3", "4"]
    assert _curves(tmp_path / "run/live/static_image") == want


def test_iterations_may_grow_and_a_shorter_run_is_already_complete(setup: Setup, tmp_path: Path) -> None:
    lines: list[str] = []
    kw = dict(model_params=_model(), seed=0, workspace=setup.workspace, out_dir=tmp_path, progress=False,
              say=lines.append)  # fmt: skip
    train("static", params=_train_params(iterations=2, keep_last=2), **kw)
    lines.clear()
    assert train("static", params=_train_params(iterations=4, keep_last=2), **kw).steps == 2
    assert lines == [f"resuming from step 2 ({tmp_path / 'final.pth'})"]
    lines.clear()
    assert train("static", params=_train_params(iterations=2, keep_last=2), **kw).steps == 0  # 000002.pth
    assert lines == [f"complete from step 2 ({tmp_path / '000002.pth'}); nothing to train"]
    assert ckpt.load(tmp_path / "final.pth")["iterations"] == 2


def test_a_grown_run_equals_a_run_of_that_length_from_the_start(setup: Setup, tmp_path: Path) -> None:
    """Sample ``i`` depends on (seed, i) only, so 2 steps then growing to 4 is the 4-step run, bit for bit."""
    kw = dict(model_params=_model(), seed=0, workspace=setup.workspace, progress=False, say=lambda line: None)
    train("static", params=_train_params(iterations=2), out_dir=tmp_path / "grown", **kw)
    grown = train("static", params=_train_params(iterations=4), out_dir=tmp_path / "grown", **kw)
    whole = train("static", params=_train_params(iterations=4), out_dir=tmp_path / "whole", **kw)
    assert grown.steps == 2 and whole.steps == 4
    assert grown.last_loss == whole.last_loss
    a, b = (ckpt.load(tmp_path / name / "final.pth")["model"] for name in ("grown", "whole"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_curves_are_cut_back_to_the_resumed_step(tmp_path: Path) -> None:
    tsv = tmp_path / "plots/metrics/train/loss.tsv"
    tsv.parent.mkdir(parents=True)
    tsv.write_text("step\tloss\n1\t0.5\n2\t0.25\n3\t0.125\n4\t0.1")  # the last row cut by a kill
    cut_curves(tmp_path, 2)
    assert tsv.read_text() == "step\tloss\n1\t0.5\n2\t0.25\n"
    tsv.write_text("step\tloss\n1\t0.5\n2")  # killed in the middle of the row of step 2
    cut_curves(tmp_path, 5)
    assert tsv.read_text() == "step\tloss\n1\t0.5\n"


def test_only_the_newest_set_aside_runs_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "ckpt"
    for i, name in enumerate(["a", "b", "c"]):
        folder = aside_root(out) / name
        folder.mkdir(parents=True)
        (folder / "000001.pth").write_bytes(b"x" * 1000)
        (folder / ASIDE_FILE).write_text(f'{{"set_aside_at": {i}}}')
    lines: list[str] = []
    prune_aside(out, 2, lines.append)
    assert sorted(p.name for p in aside_root(out).iterdir()) == ["b", "c"]
    assert len(lines) == 1 and "/a" in lines[0] and "keep_previous_runs: 2" in lines[0]


def _dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**_env(), "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _set_lr(params: Path, lr: float) -> None:
    data = yaml.safe_load(params.read_text())
    data["pretrain"]["base_lr"] = lr
    params.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
def test_dvc_repro_resumes_sets_aside_and_restores(setup: Setup, tmp_path: Path) -> None:
    """The real pretrain stage of dvc.yaml: nothing to do twice; a params change starts fresh with the old
    run set aside (ignored by git and DVC); changing it back restores that run without training."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("dvc.yaml", ".dvcignore", ".gitignore", "pyproject.toml"):
        shutil.copy2(REPO / name, work / name)
    shutil.copytree(REPO / ".dvc", work / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    shutil.copytree(REPO / "stages", work / "stages")
    shutil.copytree(REPO / "hodor", work / "hodor", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(setup.workspace, work / "workspace")
    full = yaml.safe_load((REPO / "params.yaml").read_text())
    tiny = yaml.safe_load(setup.params.read_text())
    full.update(seed=0, model=tiny["model"], pretrain=tiny["pretrain"])
    (work / "params.yaml").write_text(yaml.safe_dump(full, sort_keys=False))
    _dvc(["git", "init", "-q", "-b", "main"], work)
    _dvc(["git", "add", "-A"], work)
    _dvc(["git", "commit", "-qm", "tiny"], work)
    ckpts, live = work / "workspace/checkpoints/static_image", work / "dvclive/static_image"

    first = _dvc(["dvc", "repro", "-s", "pretrain"], work)
    assert "fresh start" in first.stdout, first.stdout
    final, curves = (ckpts / "final.pth").read_bytes(), _curves(live)
    second = _dvc(["dvc", "repro", "-s", "pretrain"], work)
    assert "Running stage" not in second.stdout, second.stdout

    _set_lr(work / "params.yaml", 0.002)
    changed = _dvc(["dvc", "repro", "-s", "pretrain"], work)
    assert "run definition changed (train.base_lr: 0.001 -> 0.002)" in changed.stdout, changed.stdout
    assert "static_image.previous-runs/" in changed.stdout and "MiB) was moved aside" in changed.stdout
    (aside,) = list(aside_root(ckpts).iterdir())
    assert (aside / "final.pth").read_bytes() == final
    assert (ckpts / "final.pth").read_bytes() != final and _curves(live) != curves
    ignored = aside.relative_to(work).as_posix()
    _dvc(["git", "check-ignore", "-q", ignored], work)
    _dvc(["dvc", "check-ignore", "-q", ignored], work)

    _set_lr(work / "params.yaml", 0.001)
    back = _dvc(["dvc", "repro", "-s", "pretrain"], work)
    assert "restored the earlier run of this definition" in back.stdout, back.stdout
    assert f"complete from step {STEPS}" in back.stdout and "steps in" not in back.stdout
    assert (ckpts / "final.pth").read_bytes() == final and _curves(live) == curves
    assert "Running stage" not in _dvc(["dvc", "repro", "-s", "pretrain"], work).stdout


def test_missing_init_is_an_input_error(setup: Setup, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--init .*not found"):
        train("sparse", model_params=_model(), params=_train_params(), seed=0, workspace=setup.workspace,
              out_dir=tmp_path, init=tmp_path / "missing.pth", progress=False)  # fmt: skip
