"""The two baselines the pipeline scores: the copied first-frame mask and the untrained model."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hodor.config import from_dict
from hodor.data.palette import write_label_png
from hodor.data.standard_json import VideoDataset, VideoSequence, encode_mask
from hodor.errors import InputError
from hodor.evaluate.davis import evaluate_davis
from hodor.infer.copy_baseline import copied_labels, copy_dataset
from hodor.infer.run import load_model
from hodor.model import ModelParams, build_model

H, W = 24, 40


def _square(x: int, y: int = 4, size: int = 10) -> np.ndarray:
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[y : y + size, x : x + size] = 1
    return mask


def _sequence(name: str, n: int, references: dict[int, dict[int, np.ndarray]]) -> VideoSequence:
    refs = {t: {k: encode_mask(m)["seg"] for k, m in objs.items()} for t, objs in references.items()}
    return VideoSequence(
        id=name, height=H, width=W, image_paths=[f"{name}/{t:05d}.jpg" for t in range(n)], categories={},
        tracks=[{} for _ in range(n)], reference_masks=refs, eval_files=None,
    )  # fmt: skip


def load_stage(repo_root: Path, name: str):
    spec = importlib.util.spec_from_file_location(
        f"_baseline_stage_{name}", repo_root / "stages" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copied_labels_keep_each_given_mask_until_the_object_is_given_again() -> None:
    """Object 1 from frame 0, object 2 from frame 2 (covering part of object 1), object 1 given again
    at frame 3 elsewhere: its old pixels go, object 2 keeps what it covered."""
    seq = _sequence("s", 5, {0: {1: _square(2)}, 2: {2: _square(8)}, 3: {1: _square(25)}})
    labels = copied_labels(seq)
    assert len(labels) == 5 and all(lab.shape == (H, W) and lab.dtype == np.uint8 for lab in labels)
    assert np.array_equal(labels[0], _square(2)) and np.array_equal(labels[1], labels[0])
    expected = np.where(_square(8) > 0, 2, _square(2)).astype(np.uint8)
    assert np.array_equal(labels[2], expected)
    expected = np.where(_square(25) > 0, 1, np.where(_square(8) > 0, 2, 0)).astype(np.uint8)
    assert np.array_equal(labels[3], expected) and np.array_equal(labels[4], expected)
    with pytest.raises(InputError, match="'empty': no reference mask"):
        copied_labels(_sequence("empty", 3, {}))


def test_copy_baseline_scores_what_a_static_guess_deserves(tmp_path: Path) -> None:
    """A still object scores J = 1; one moving 5 px per frame (10 px wide) overlaps its first mask by
    10 - 5t columns at frame t: J = overlap / (200 - overlap) on the scored frames 1 .. n-2."""
    n = 5
    gt = [np.where(_square(25) > 0, 2, _square(5 * t)).astype(np.uint8) for t in range(n)]
    davis = tmp_path / "DAVIS"
    for t, frame in enumerate(gt):
        write_label_png(davis / "Annotations" / "480p" / "walk" / f"{t:05d}.png", frame)
    (davis / "ImageSets" / "2017").mkdir(parents=True)
    (davis / "ImageSets" / "2017" / "val.txt").write_text("walk\n")
    seq = _sequence("walk", n, {0: {1: _square(0), 2: _square(25)}})
    dataset = VideoDataset("davis_val", tmp_path / "frames", [seq], {})
    summary = copy_dataset(dataset, tmp_path / "out", "davis", progress=False)
    assert (summary.frames, summary.sequences) == (n, 1)
    result = evaluate_davis(davis, tmp_path / "out", "val", workers=1, progress=False)
    j = {o.name: o.j.mean for o in result.objects}
    overlaps = [max(0, 10 - 5 * t) * 10 for t in range(1, n - 1)]
    assert j["walk_2"] == 1.0
    assert j["walk_1"] == pytest.approx(np.mean([o / (200 - o) for o in overlaps]))


def test_copy_baseline_youtube_vos_layout_and_stage(tmp_path: Path, repo_root: Path) -> None:
    seq = _sequence("vid", 4, {1: {3: _square(4)}})
    seq = VideoSequence(**{**seq.__dict__, "eval_files": ["vid/00000.jpg", "vid/00002.jpg"]})
    copy_dataset(VideoDataset("youtube_vos_2019_val", tmp_path, [seq], {}), tmp_path / "yt", "youtube_vos")
    assert sorted(p.name for p in (tmp_path / "yt" / "Annotations" / "vid").iterdir()) == [
        f"{t:05d}.png" for t in range(4)
    ]
    names = zipfile.ZipFile(tmp_path / "yt" / "Annotations.zip").namelist()
    assert names == ["Annotations/vid/00000.png", "Annotations/vid/00002.png"]
    stage = load_stage(repo_root, "copy_first_frame")
    argv = ["--dataset", "davis_val", "--workspace", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]
    assert stage.main(argv) == 2 and not (tmp_path / "o").exists()


def test_untrained_stage_saves_pretrainings_initial_weights(tmp_path: Path, repo_root: Path, capsys) -> None:
    """The checkpoint loads through inference's loader with its recorded model params, holds the weights
    ``torch.manual_seed(seed)`` + ``build_model`` give (what training starts from), and the seed matters."""
    model = yaml.safe_load((repo_root / "params.yaml").read_text())["model"]
    stage = load_stage(repo_root, "untrained")
    states = []
    for seed in (42, 7):
        params = tmp_path / f"params{seed}.yaml"
        params.write_text(yaml.safe_dump({"seed": seed, "model": model}))
        assert stage.main(["--params", str(params), "--out", str(tmp_path / f"u{seed}")]) == 0
        assert f"seed {seed}" in capsys.readouterr().out
        states.append(load_model(tmp_path / f"u{seed}" / "final.pth", None, "cpu").state_dict())
    torch.manual_seed(42)
    expected = build_model(from_dict(ModelParams, model)).state_dict()
    assert states[0].keys() == expected.keys()
    assert all(torch.equal(states[0][k], expected[k]) for k in expected)
    assert any(not torch.equal(states[0][k], states[1][k]) for k in expected)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"seed": -1, "model": model}))
    assert stage.main(["--params", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "u")]) == 2
    assert "seed" in capsys.readouterr().err
