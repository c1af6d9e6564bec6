"""Two processes under torchrun (gloo) == one process with the same global batch (via accumulation), and
many-node resumption: rank 0 picks the checkpoint and broadcasts it; a rank that cannot read it stops
every rank with the path named."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hodor.train.toydata import make_toy_workspace

STEPS, LR = 3, 1e-3  # constant lr from the first step: three steps move the weights far beyond tolerance


def _losses(stdout: str) -> dict[int, float]:
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^STEP (\d+) (\S+)$", stdout, re.M)}


def _params(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    return {k.removeprefix("module."): v for k, v in state.items()}


def _toy(workspace: Path, out: Path, *extra: str, ranks: int = 1) -> subprocess.CompletedProcess[str]:
    launcher = (
        ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"] if ranks > 1 else []
    )
    cmd = [sys.executable, *launcher, "-m", "hodor.train.toydata", str(workspace), str(out), "--steps",
           str(STEPS), "--samples-per-forward", "1", "--lr", str(LR), "--backbone", "lcnet_035", *extra]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_torchrun_two_ranks_match_single_process_and_resume(tmp_path: Path) -> None:
    workspace = make_toy_workspace(tmp_path / "ws")
    # global batch 2: one process accumulates 2 forwards, two processes do 1 forward each
    single = _toy(workspace, tmp_path / "one", "--dump-params", str(tmp_path / "one.pt"))
    assert single.returncode == 0, single.stderr[-2000:]
    # Two ranks, killed after step 3 (before final.pth), then the same command: rank 0 resumes from
    # 000002.pth and broadcasts it, every rank loads it.
    killed = _toy(workspace, tmp_path / "two", "--kill-at", str(STEPS), ranks=2)
    assert killed.returncode != 0 and not (tmp_path / "two/final.pth").exists()
    multi = _toy(workspace, tmp_path / "two", "--dump-params", str(tmp_path / "two.pt"), ranks=2)
    assert multi.returncode == 0, multi.stderr[-2000:]
    assert "resuming from step 2" in multi.stdout, multi.stdout
    one, two, resumed = _losses(single.stdout), _losses(killed.stdout), _losses(multi.stdout)
    assert sorted(one) == sorted(two) == list(range(1, STEPS + 1))
    assert resumed == {STEPS: two[STEPS]}, "the resumed step equals the uninterrupted one exactly"
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-5), f"step {step}"
    rank0, rank1 = _params(tmp_path / "two.pt.rank0"), _params(tmp_path / "two.pt.rank1")
    reference = _params(tmp_path / "one.pt.rank0")
    before = torch.load(tmp_path / "one/000002.pth", weights_only=True)["model"]  # weights after step 2
    travelled = max((reference[k] - before[k.removeprefix("model.")]).abs().max().item() for k in reference)
    assert travelled > 1e-4, "the last step alone must move the weights 10x beyond the tolerance (atol 1e-5)"
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), f"{name} differs between ranks"
        torch.testing.assert_close(value, reference[name], rtol=1e-4, atol=1e-5, msg=f"{name} vs 1 process")
    assert (tmp_path / "two" / "final.pth").exists() and (tmp_path / "one" / "final.pth").exists()

    # No shared file system (one output folder per rank): rank 1 cannot read what rank 0 chose.
    (tmp_path / "per").mkdir()
    (tmp_path / "one").rename(tmp_path / "per/rank0")
    apart = _toy(workspace, tmp_path / "per", "--out-per-rank", ranks=2)
    assert apart.returncode != 0
    wanted = f"rank 1 cannot read the checkpoint that rank 0 resumes from: {tmp_path / 'per/rank1/final.pth'}"
    assert wanted in apart.stderr, apart.stderr[-3000:]
    assert "shared file system" in apart.stderr
