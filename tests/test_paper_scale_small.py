"""benchmarks/paper_scale.py in its small mode: the data at a tiny fraction of the real counts, JSON
loading and the conversion growth measured in child processes, one table with every row filled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # measured 14.6 s at load 1.3, 230 s at load 10-11 (beside a full-size run)
def test_small_run_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "paper_scale.py"), "--work", str(tmp_path / "w"),
           "--scale", "0.0005", "--parts", "load,convert", "--baseline", "none", "--rounds", "1",
           "--json", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout.split("load after:")[1]
    assert "| load coco_2017_train (" in table and "| convert COCO, full (59 images, " in table
    assert "| conversion growth, 2x data: CPU x" in table
    runs = json.loads(out.read_text())["runs"]
    converts = {Path(r["what"].split()[2]).name: r for r in runs if r["part"] == "convert"}
    assert set(converts) == {"instances_half.json", "instances_train2017.json"}
    for r in converts.values():  # the tree's CPU covers the conversion's own parent CPU, workers on top
        assert (
            r["hodor"].startswith(str(REPO)) and r["tree_cpu_s"] >= r["startup_cpu_s"] + r["parent_cpu_s"] > 0
        )
    written = json.loads((tmp_path / "w" / "converted_instances_train2017.json").read_text())
    assert len(written["images"]) == 59
