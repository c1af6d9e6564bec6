"""benchmarks/gpu_check.sh --dry: the GPU check's code runs end to end on the CPU (tiny sizes) and writes
its one JSON with every section measured, so the script a GPU lease runs is not dead code."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_dry_run_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--dry", str(out)],
        capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["dry"] is True and report["device"] == "cpu"
    for amp in ("fp32", "bf16"):
        assert report["inference"][amp]["fps"] > 0, report["inference"]
    assert report["train"]["it_per_s"] > 0 and report["train"]["global_batch"] == 2, report["train"]
    assert report["ddp"]["backend"] == "gloo" and report["ddp"]["step_s"] > 0, report["ddp"]
