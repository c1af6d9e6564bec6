"""The package as a library: ``hodor --version``, recorded library versions, no pipeline packages needed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from hodor.cli import main
from hodor.provenance import provenance
from hodor.train.checkpoint import load
from hodor.train.run import train
from hodor.train.toydata import make_toy_workspace, toy_model_params, toy_train_params

REPO = Path(__file__).resolve().parents[1]


def test_version_flag_prints_the_package_version(capsys: pytest.CaptureFixture) -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"hodor-vos {declared}"


def test_provenance_reports_the_imported_libraries() -> None:
    versions = provenance()
    assert versions["torch"] == torch.__version__.split("+")[0]
    assert versions["numpy"] == np.__version__
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(versions) >= {"hodor-vos", "torchvision", "timm", "opencv-python-headless", "pillow"}


def test_training_without_dvclive_logs_to_a_file_and_checkpoints_record_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "dvclive", None)  # `import dvclive` now raises ImportError
    workspace = make_toy_workspace(tmp_path / "ws", images=2, videos=1)
    live = tmp_path / "live"
    train("static", model_params=toy_model_params(), seed=0, workspace=workspace, out_dir=tmp_path / "out",
          params=toy_train_params(iterations=2, save_interval=2, log_interval=1), live_dir=live,
          progress=False)  # fmt: skip
    lines = (live / "train_log.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["step=1", "step=2"]
    assert all("train/loss=" in line and "train/lr=" in line for line in lines)
    printed = capsys.readouterr()
    assert "pip install 'hodor-vos[pipeline]'" in printed.err + printed.out
    assert lines[-1] in printed.err + printed.out  # the same lines on the terminal
    assert not (live / "metrics.json").exists()  # nothing of dvclive's own layout
    saved = load(tmp_path / "out/final.pth")
    assert saved["hodor"]["versions"] == provenance()


# What `pip install 'hodor-vos[pipeline]'` adds (top-level module names); the core must not need them.
PIPELINE_MODULES = ("dvc", "dvclive", "matplotlib", "imgviz", "skimage")
CORE_MODULES = ("hodor.cli", "hodor.train.run", "hodor.train.cli", "hodor.infer.cli", "hodor.infer.segment_cli",
                "hodor.infer.dataset", "hodor.evaluate.cli", "hodor.convert.cli", "hodor.data.synthetic.cli")  # fmt: skip


def test_core_imports_without_the_pipeline_packages_and_names_the_extra(tmp_path: Path) -> None:
    code = f"""
import importlib, sys
for name in {PIPELINE_MODULES!r}:
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
for module in {CORE_MODULES!r}:
    importlib.import_module(module)
from hodor.cli import main
sys.exit(main(["synthesize", "--out", {str(tmp_path / "raw")!r}]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        "hodor synthesize: error: the synthetic world needs the 'imgviz' package, which the core install "
        "leaves out: pip install 'hodor-vos[pipeline]'"
    ]
