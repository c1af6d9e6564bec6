"""``hodor segment`` on a small mp4 and a frame folder made in tmp_path, with a random quick checkpoint."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from hodor.cli import main
from hodor.config import to_dict
from hodor.data.palette import davis_palette
from hodor.model import ModelParams, build_model

H, W, T = 48, 64, 5


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    params = ModelParams(variant="quick")
    path = tmp_path_factory.mktemp("ckpt") / "quick.pth"
    torch.save({"model": build_model(params).state_dict(), "hodor": {"model_params": to_dict(params)}}, path)
    return path


def clip() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), (5, 5), 0)
    out = []
    for t in range(T):
        img = base.copy()
        img[10:30, 8 + 3 * t : 28 + 3 * t] = (20, 40, 230)
        out.append(img)
    return out


def write_mask(path: Path, mode: str) -> Path:
    m = np.zeros((H, W), np.uint8)
    m[10:30, 8:28] = 1 if mode == "P" else 255
    im = Image.fromarray(m, mode=mode)
    if mode == "P":
        im.putpalette(davis_palette().reshape(-1).tolist())
    im.save(path)
    return path


def has_pyav() -> bool:
    return importlib.util.find_spec("av") is not None


def segment(*args: str) -> int:
    return main(["segment", *args, "--min-image-dim", "64", "--threads", "1"])


def test_segment_mp4(tmp_path: Path, checkpoint: Path, capsys) -> None:
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for f in clip():
        writer.write(f)
    writer.release()
    out = tmp_path / "out"
    assert (
        segment(
            str(video),
            str(write_mask(tmp_path / "m.png", "P")),
            "--out",
            str(out),
            "--checkpoint",
            str(checkpoint),
        )
        == 0
    )
    masks = sorted(p.name for p in (out / "masks").iterdir())
    assert masks == [f"{t:05d}.png" for t in range(T)]
    first = np.array(Image.open(out / "masks/00000.png"))
    # The first frame is the mask itself, resized to the 64x85 network input and back (border pixels move).
    assert first.shape == (H, W) and first[10:30, 8:28].all() and abs(int(first.sum()) - 20 * 20) <= 40
    capture = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == T
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (H, W, 3)
    # H.264 with the [video] extra (browsers play it), else mp4v and the one-line note saying so.
    note = "overlay.mp4 written as mp4v" in capsys.readouterr().err
    assert (fourcc.lower(), note) == (("h264", False) if has_pyav() else ("fmp4", True))
    assert (out / "preview.png").stat().st_size > 0
    info = json.loads((out / "segment_summary.json").read_text())
    assert info["frames"] == T and info["object_ids"] == [1]
    # Rerun into our own output folder: replaced, not refused.
    assert (
        segment(str(video), str(tmp_path / "m.png"), "--out", str(out), "--checkpoint", str(checkpoint)) == 0
    )


def test_segment_frame_folder_with_greyscale_mask(tmp_path: Path, checkpoint: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, f in enumerate(clip()):
        cv2.imwrite(str(folder / f"img_{t:03d}.jpg"), f)
    out = tmp_path / "out"
    mask = write_mask(tmp_path / "m.png", "L")  # black/white mask -> object 1
    assert segment(str(folder), str(mask), "--out", str(out), "--checkpoint", str(checkpoint)) == 0
    assert sorted(p.stem for p in (out / "masks").iterdir()) == [f"img_{t:03d}" for t in range(T)]
    assert set(np.unique(np.array(Image.open(out / "masks/img_000.png")))) == {0, 1}


def test_segment_errors(tmp_path: Path, checkpoint: Path, capsys) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, f in enumerate(clip()):
        cv2.imwrite(str(folder / f"{t}.png"), f)
    mask = write_mask(tmp_path / "m.png", "P")
    with pytest.raises(SystemExit):  # argparse: --checkpoint is required
        main(["segment", str(folder), str(mask), "--out", str(tmp_path / "o")])
    assert "--checkpoint" in capsys.readouterr().err
    assert (
        segment(
            str(folder), str(mask), "--out", str(tmp_path / "o"), "--checkpoint", str(tmp_path / "no.pth")
        )
        == 2
    )
    assert "no.pth: checkpoint file not found" in capsys.readouterr().err
    big = np.zeros((H + 4, W), np.uint8)
    big[:5, :5] = 1
    Image.fromarray(big, mode="L").save(tmp_path / "big.png")
    assert (
        segment(
            str(folder),
            str(tmp_path / "big.png"),
            "--out",
            str(tmp_path / "o"),
            "--checkpoint",
            str(checkpoint),
        )
        == 2
    )
    assert f"big.png: mask is {H + 4}x{W} but the first frame" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing half-written
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/notes.txt").write_text("keep me")
    assert (
        segment(str(folder), str(mask), "--out", str(tmp_path / "mine"), "--checkpoint", str(checkpoint)) == 2
    )
    assert "is not an earlier `hodor segment` output" in capsys.readouterr().err


def test_demo_clip(tmp_path: Path) -> None:
    from hodor.infer.demo_clip import FRAMES, OUT_HW, make_clip

    video, mask = make_clip(tmp_path / "demo", "coffee")
    labels = np.array(Image.open(mask))
    assert labels.shape == OUT_HW and set(np.unique(labels)) == {0, 1} and 0.2 < labels.mean() < 0.9
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    capture.release()
