"""Kill-and-resume: a run SIGKILLed at step k and resumed gives exactly the losses of an uninterrupted run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hodor.train.toydata import make_toy_workspace

STEPS, KILL_AT = 5, 3  # checkpoints every 2 steps: the resumed run restarts from 000002.pth


def _run(workspace: Path, out: Path, *extra: str) -> tuple[int, dict[int, str]]:
    cmd = [
        sys.executable,
        "-m",
        "hodor.train.toydata",
        str(workspace),
        str(out),
        "--steps",
        str(STEPS),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    losses = {int(m.group(1)): m.group(2) for m in re.finditer(r"^STEP (\d+) (\S+)$", proc.stdout, re.M)}
    return proc.returncode, losses


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_exact(tmp_path: Path) -> None:
    workspace = make_toy_workspace(tmp_path / "ws")
    rc, reference = _run(workspace, tmp_path / "ref")
    assert rc == 0 and sorted(reference) == list(range(1, STEPS + 1))

    rc, killed = _run(workspace, tmp_path / "run", "--kill-at", str(KILL_AT))
    assert rc == -9, "the run should have died by SIGKILL"
    assert sorted(killed) == list(range(1, KILL_AT + 1))
    assert not (tmp_path / "run" / "final.pth").exists()
    assert [p.name for p in sorted((tmp_path / "run").glob("*.pth"))] == ["000002.pth"]

    rc, resumed = _run(workspace, tmp_path / "run", "--resume")
    assert rc == 0
    assert sorted(resumed) == list(range(3, STEPS + 1)), "resumption must restart after the last checkpoint"
    for step in range(1, STEPS + 1):  # string reprs of the floats: exact equality
        got = resumed.get(step, killed.get(step))
        assert got == reference[step], f"step {step}: {got} vs uninterrupted {reference[step]}"
    assert (tmp_path / "run" / "final.pth").exists()
