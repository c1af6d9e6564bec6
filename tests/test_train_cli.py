"""`hodor train` and the pretrain / finetune stages: params sections, outputs, one-line errors."""

from __future__ import annotations

import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hodor.cli import main as hodor_main
from hodor.config import to_dict
from hodor.train.toydata import make_toy_workspace, toy_model_params, toy_train_params

REPO = Path(__file__).resolve().parents[1]


def _params_file(path: Path, **pretrain_overrides) -> Path:
    train = to_dict(toy_train_params(iterations=2, save_interval=1, keep_last=1))
    data = {
        "seed": 0,
        "model": to_dict(toy_model_params()),
        "pretrain": {**train, **pretrain_overrides},
        "finetune": {"regimes": ["sparse", "dense"], "sparse": train, "dense": train},
        "official": {"json_dir": None, "static_image": None, "video_sparse": None, "video_dense": None},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _stage_main(stage: str) -> Callable[[list[str]], int]:
    """A stage script's main(), run in this process: the test checks what the stage does, and saves a
    Python-with-torch start-up per call (tests/test_pipeline_e2e.py runs the stages as DVC's commands)."""
    return runpy.run_path(str(REPO / "stages" / f"{stage}.py"))["main"]


@pytest.mark.slow
def test_pretrain_then_finetune_stages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ws = make_toy_workspace(tmp_path / "ws", images=4, videos=2)
    params = _params_file(tmp_path / "params.yaml")
    static = tmp_path / "ws/checkpoints/static_image"
    argv = ["train", "--regime", "static", "--params", str(params), "--workspace", str(ws), "--out", str(static),
            "--live", str(tmp_path / "dvclive/static_image"), "--no-progress"]  # fmt: skip
    assert hodor_main(argv) == 0
    assert "train static: 2 steps" in capsys.readouterr().out
    assert sorted(p.name for p in static.glob("*.pth")) == ["000002.pth", "final.pth"]  # keep_last 1
    assert (tmp_path / "dvclive/static_image/plots/metrics/train/loss.tsv").is_file()
    assert not (tmp_path / "dvclive/static_image/dvc.yaml").exists()
    code = _stage_main("finetune")(
        ["--params", str(params), "--regime", "dense", "--init", str(static / "final.pth"), "--workspace",
         str(ws), "--out", str(tmp_path / "video_dense"), "--live", str(tmp_path / "dvclive/video_dense"),
         "--no-progress"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    assert "train dense: 2 steps" in out.out
    assert (tmp_path / "video_dense/final.pth").is_file()

    # official.static_image (the official workspace zip): checked against the model, placed, not trained.
    data = yaml.safe_load(params.read_text())
    data["official"]["static_image"] = str(static / "final.pth")
    params.write_text(yaml.safe_dump(data))
    imported = tmp_path / "imported"
    code = _stage_main("pretrain")(
        ["--params", str(params), "--workspace", str(ws), "--out", str(imported), "--live",
         str(tmp_path / "dvclive/imported"), "--no-progress"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0 and "no training" in out.out, out.err[-2000:]
    assert (imported / "final.pth").read_bytes() == (static / "final.pth").read_bytes()
    assert "imported_from" in (tmp_path / "dvclive/imported/metrics.json").read_text()


def test_stage_reports_bad_params_in_one_line(tmp_path: Path) -> None:
    ws = make_toy_workspace(tmp_path / "ws", images=2, videos=1)
    params = _params_file(tmp_path / "params.yaml", base_lr="fast")
    proc = subprocess.run(
        [sys.executable, "stages/pretrain.py", "--params", str(params), "--workspace", str(ws),
         "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "pretrain.base_lr" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
