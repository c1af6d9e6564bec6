"""``hodor infer`` and ``stages/infer.py`` on a tiny workspace made in tmp_path (random quick checkpoint)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from test_infer_dataset import box, make_frames, save_checkpoint

from hodor.cli import main
from hodor.config import ParamsError, to_dict
from hodor.data.standard_json import encode_mask
from hodor.infer.params import load_infer_params
from hodor.model import ModelParams, build_model

REPO = Path(__file__).resolve().parents[1]
PARAMS = {
    "seed": 0,
    "temporal_window": 2,
    "min_image_dim": 64,
    "model": to_dict(ModelParams(variant="quick")),
    "infer": {"max_dim_ratio": 2.0, "backbone_batch_size": 4, "amp": "none"},
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    make_frames(ws / "dataset_images/davis_trainval/bear", 3)
    seq = {
        "id": "bear",
        "image_paths": [f"bear/{5 * t:05d}.jpg" for t in range(3)],
        "segmentations": {"0": {"1": encode_mask(box(10, 40, 10, 40))["seg"]}},
    }
    (ws / "dataset_json_annotations").mkdir(parents=True)
    (ws / "dataset_json_annotations/davis_val.json").write_text(json.dumps({"sequences": [seq]}))
    torch.manual_seed(0)
    quick = ModelParams(variant="quick")
    (ws / "checkpoints/static_image").mkdir(parents=True)
    save_checkpoint(ws / "checkpoints/static_image/final.pth", build_model(quick), quick)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return ws


def stage(*argv: str) -> int:
    return runpy.run_path(str(REPO / "stages/infer.py"))["main"](list(argv))


def test_stage_and_cli_write_davis_outputs(workspace: Path, tmp_path: Path, capsys) -> None:
    ckpt = workspace / "checkpoints/static_image/final.pth"
    out = tmp_path / "outputs/static_image/davis_val"
    args = [
        "--checkpoint",
        str(ckpt),
        "--dataset",
        "davis_val",
        "--workspace",
        str(workspace),
        "--out",
        str(out),
    ]
    assert stage("--params", str(tmp_path / "params.yaml"), *args) == 0
    assert "infer davis_val" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "bear").iterdir()) == ["00000.png", "00005.png", "00010.png"]
    info = json.loads((out / "inference_summary.json").read_text())
    assert info["checkpoint"]["sha256"] and info["temporal_window"] == 2 and info["max_image_dim"] == 128
    assert info["versions"]["torch"] == torch.__version__.split("+")[0]  # information only
    # The CLI with flags and the checkpoint's recorded model params (no --params) gives the same labels.
    out2 = tmp_path / "cli"
    argv = ["infer", *args[:-1], str(out2), "--temporal-window", "2", "--min-image-dim", "64"]
    assert main([*argv, "--max-dim-ratio", "2", "--backbone-batch-size", "4", "--threads", "1"]) == 0
    for name in ("00000.png", "00010.png"):
        assert np.array_equal(
            np.array(Image.open(out / "bear" / name)), np.array(Image.open(out2 / "bear" / name))
        )


def test_stage_refuses_a_checkpoint_of_another_config(workspace: Path, tmp_path: Path, capsys) -> None:
    params = {**PARAMS, "model": to_dict(ModelParams(variant="quick", dim=128))}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    ckpt = workspace / "checkpoints/static_image/final.pth"
    rc = stage("--params", str(tmp_path / "params.yaml"), "--checkpoint", str(ckpt), "--dataset", "davis_val",
               "--workspace", str(workspace), "--out", str(tmp_path / "o"))  # fmt: skip
    assert rc == 2
    assert "model.dim: checkpoint 64 vs params 128" in capsys.readouterr().err


def test_params_loading(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(PARAMS))
    p = load_infer_params(path)
    assert (p.temporal_window, p.min_image_dim, p.max_image_dim, p.amp) == (2, 64, 128, "none")
    path.write_text(yaml.safe_dump({**PARAMS, "infer": {**PARAMS["infer"], "temporal_window": 3}}))
    with pytest.raises(ParamsError, match="infer.temporal_window must be the top-level key"):
        load_infer_params(path)
    path.write_text(yaml.safe_dump({**PARAMS, "temporal_window": 0}))
    with pytest.raises(ParamsError, match="temporal_window must be >= 1"):
        load_infer_params(path)
    path.write_text(yaml.safe_dump({**PARAMS, "infer": {**PARAMS["infer"], "amp": "fp8"}}))
    with pytest.raises(ParamsError, match=r"amp: 'fp8' is not one of"):
        load_infer_params(path)
