"""Launch keys (``nproc_per_node``): split off the sections they sit in, and the stage's own torchrun start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hodor.config import ParamsError, load_section
from hodor.infer.params import load_infer_launch, load_infer_params
from hodor.launch import Launch, params_path_from, relaunch, split_launch, torchrun_command, torchrun_env
from hodor.train.params import TrainParams, load_train_launch, load_train_params


def _params_with(tmp_path: Path, repo_root: Path, **launch: int) -> Path:
    """The default params.yaml with ``nproc_per_node`` set per section (pretrain / sparse / dense / infer)."""
    data = yaml.safe_load((repo_root / "params.yaml").read_text())
    sections = {"pretrain": data["pretrain"], "sparse": data["finetune"]["sparse"],
                "dense": data["finetune"]["dense"], "infer": data["infer"]}  # fmt: skip
    for name, section in sections.items():
        section.pop("nproc_per_node", None)
        if name in launch:
            section["nproc_per_node"] = launch[name]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_launch_keys_are_split_off_and_change_nothing_computed(tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one = _params_with(tmp_path / "one", repo_root)
    many = _params_with(tmp_path / "many", repo_root, pretrain=2, dense=3, infer=4)
    for regime in ("static", "sparse", "dense"):
        assert load_train_params(many, regime) == load_train_params(one, regime)
        assert load_train_launch(one, regime) == Launch(1)  # absent: one process
    assert [load_train_launch(many, r).nproc_per_node for r in ("static", "sparse", "dense")] == [2, 1, 3]
    assert load_infer_launch(many) == Launch(4) and load_infer_params(many) == load_infer_params(one)


def test_bad_launch_values_name_the_file_and_section(tmp_path: Path, repo_root: Path) -> None:
    params = _params_with(tmp_path, repo_root, dense=0)
    with pytest.raises(ParamsError, match=r"params\.yaml \[finetune\.dense\].*nproc_per_node must be >= 1"):
        load_train_launch(params, "dense")
    data = yaml.safe_load(params.read_text())
    data["finetune"]["dense"]["nproc_per_node"] = "two"
    params.write_text(yaml.safe_dump(data))
    with pytest.raises(ParamsError, match=r"nproc_per_node: expected an integer"):
        load_train_launch(params, "dense")
    with pytest.raises(ParamsError, match=r"x\.yaml \[infer\]: expected a mapping"):
        split_launch([1, 2], "x.yaml [infer]")


def test_load_section_without_drops_only_the_named_keys(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"train": {"iterations": 3, "nproc_per_node": 2, "typo": 1}}))
    raw = yaml.safe_load(path.read_text())
    with pytest.raises(ParamsError, match=r"unknown key\(s\) train\.typo"):  # the other keys stay checked
        load_section(TrainParams, path, "train", without=["nproc_per_node"])
    assert yaml.safe_load(path.read_text()) == raw  # nothing changed in place or on disk


def test_torchrun_env_shares_the_cores_unless_the_user_chose() -> None:
    assert torchrun_env({"PATH": "/bin"}, 2, 2) == {"PATH": "/bin", "OMP_NUM_THREADS": "1"}
    assert torchrun_env({}, 4, 16)["OMP_NUM_THREADS"] == "4"
    assert torchrun_env({}, 8, 2)["OMP_NUM_THREADS"] == "1"  # never 0
    assert torchrun_env({}, 2, None)["OMP_NUM_THREADS"] == "1"
    assert torchrun_env({"OMP_NUM_THREADS": "3"}, 2, 2)["OMP_NUM_THREADS"] == "3"
    command = torchrun_command(2, "stages/pretrain.py", ["--params", "p.yaml"])
    assert command[1:] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "stages/pretrain.py", "--params", "p.yaml"]  # fmt: skip


def test_relaunch_only_from_the_parent_with_several_processes() -> None:
    assert relaunch(Launch(1), "x.py", [], {}, 2) is None
    assert relaunch(Launch(2), "x.py", [], {"LOCAL_RANK": "0"}, 2) is None  # already a rank: do the work
    assert params_path_from(["--regime", "dense", "--params", "a/p.yaml", "--out", "o"]) == Path("a/p.yaml")
    assert params_path_from(["--out", "o"]) == Path("params.yaml")


# Stands in for torchrun: says it is ready, and on SIGTERM leaves a mark and exits 7.
CHILD = """
import pathlib, signal, sys, time
def stop(*_):
    pathlib.Path(sys.argv[1] + ".terminated").touch()
    sys.exit(7)
signal.signal(signal.SIGTERM, stop)
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""

# Stands in for the stage: starts the child as hodor.launch.relaunch starts torchrun, and waits.
PARENT = """
import subprocess, sys
from hodor.launch import terminate_with_parent, wait_forwarding_sigterm
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], preexec_fn=terminate_with_parent())
print(child.pid, flush=True)
sys.exit(wait_forwarding_sigterm(child))
"""


def _start_parent(ready: Path) -> tuple[subprocess.Popen, int]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(ready)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    child_pid = int(parent.stdout.readline())
    _wait_for(ready, parent)
    return parent, child_pid


def _wait_for(path: Path, parent: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        assert parent is None or parent.poll() is None, "the parent ended early"
        time.sleep(0.05)


def test_sigterm_to_the_launching_stage_reaches_torchrun(tmp_path: Path) -> None:
    """``kill <stage pid>`` must stop the ranks too, not orphan them: the child gets the SIGTERM and the
    stage exits with the child's code."""
    parent, child_pid = _start_parent(tmp_path / "ready")
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 7
    assert (tmp_path / "ready.terminated").exists()
    with pytest.raises(ProcessLookupError):  # ended and reaped by the parent: gone
        os.kill(child_pid, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_the_launching_stage_terminates_torchrun(tmp_path: Path) -> None:
    """The stage killed with no chance to pass anything on (OOM killer, kill -9): the kernel sends the
    child SIGTERM, so no orphaned ranks keep writing into the checkpoint folder."""
    parent, _ = _start_parent(tmp_path / "ready")
    parent.kill()
    parent.wait(timeout=30)
    _wait_for(tmp_path / "ready.terminated")


@pytest.mark.parametrize("stage", ["infer", "pretrain", "finetune"])
def test_stage_reads_its_launch_keys_without_importing_torch(
    stage: str, tmp_path: Path, repo_root: Path
) -> None:
    """A stage that relaunches itself under torchrun must not pay torch's import (seconds) in the parent:
    importing the stage module and reading its launch keys leaves torch unimported (fresh interpreter)."""
    params = _params_with(tmp_path, repo_root, pretrain=2, sparse=2, infer=2)
    read = {"infer": "load_infer_launch(p)", "pretrain": "load_train_launch(p, 'static')",
            "finetune": "load_train_launch(p, 'sparse')"}[stage]  # fmt: skip
    code = (
        f"import sys; sys.path.insert(0, {str(repo_root)!r}); import stages.{stage}\n"
        "from hodor.infer.params import load_infer_launch\nfrom hodor.train.params import load_train_launch\n"
        f"p = {str(params)!r}; launch = {read}\n"
        "print(launch.nproc_per_node, sorted(m for m in ('torch', 'timm', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["2", "[]"], out.stdout + out.stderr
