"""Two processes under torchrun (gloo) == one process with the same global batch (via accumulation)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hodor.train.toydata import make_toy_workspace

STEPS = 2


def _losses(stdout: str) -> dict[int, float]:
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^STEP (\d+) (\S+)$", stdout, re.M)}


def _params(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    return {k.removeprefix("module."): v for k, v in state.items()}


@pytest.mark.slow
def test_torchrun_two_ranks_match_single_process(tmp_path: Path) -> None:
    workspace = make_toy_workspace(tmp_path / "ws")
    common = [str(workspace), "--steps", str(STEPS), "--samples-per-forward", "1"]
    # global batch 2: one process accumulates 2 forwards, two processes do 1 forward each
    single = subprocess.run(
        [sys.executable, "-m", "hodor.train.toydata", common[0], str(tmp_path / "one"), *common[1:],
         "--dump-params", str(tmp_path / "one.pt")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-2000:]
    multi = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "hodor.train.toydata", common[0], str(tmp_path / "two"), *common[1:],
         "--dump-params", str(tmp_path / "two.pt")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert multi.returncode == 0, multi.stderr[-2000:]
    one, two = _losses(single.stdout), _losses(multi.stdout)
    assert sorted(one) == sorted(two) == list(range(1, STEPS + 1))
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-5), f"step {step}"
    rank0, rank1 = _params(tmp_path / "two.pt.rank0"), _params(tmp_path / "two.pt.rank1")
    reference = _params(tmp_path / "one.pt.rank0")
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), f"{name} differs between ranks"
        torch.testing.assert_close(value, reference[name], rtol=1e-4, atol=1e-5, msg=f"{name} vs 1 process")
    assert (tmp_path / "two" / "final.pth").exists() and (tmp_path / "one" / "final.pth").exists()
