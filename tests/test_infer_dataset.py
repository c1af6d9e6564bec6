"""Inference over small standardized-JSON datasets made in tmp_path, with the real quick model (random
weights): output file sets, sizes, palettes, ids, late objects, resume, windowing, and bad input."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from hodor.config import to_dict
from hodor.data.palette import davis_palette, youtube_vos_palette
from hodor.data.standard_json import encode_mask, load_video_dataset
from hodor.errors import InputError
from hodor.infer.dataset import infer_dataset
from hodor.infer.params import InferParams
from hodor.infer.run import load_model
from hodor.model import ModelParams, build_model

H, W = 64, 96


def quick_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelParams(variant="quick")).eval()


def save_checkpoint(path: Path, model: torch.nn.Module, params: ModelParams) -> Path:
    torch.save({"model": model.state_dict(), "hodor": {"model_params": to_dict(params)}}, path)
    return path


def make_frames(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (H, W)) -> list[np.ndarray]:
    """Real-ish frames: a textured background with a bright box moving right (JPEG on disk)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (7, 7), 0)
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for t in range(n):
        img = base.copy()
        img[10:40, 10 + 3 * t : 40 + 3 * t] = (40, 200, 240)
        cv2.imwrite(str(folder / f"{5 * t:05d}.jpg"), img)
        frames.append(img)
    return frames


def box(y0: int, y1: int, x0: int, x1: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    m = np.zeros(size, np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def write_dataset(root: Path, sequences: list[dict]) -> Path:
    """Inference-shape JSON: sequences [{id, n, refs: {frame: {id: mask}}, eval_files?, size?}]."""
    records = []
    for s in sequences:
        make_frames(root / "images" / s["id"], s["n"], seed=len(records), size=s.get("size", (H, W)))
        rec = {
            "id": s["id"],
            "image_paths": [f"{s['id']}/{5 * t:05d}.jpg" for t in range(s["n"])],
            "segmentations": {
                str(f): {str(o): encode_mask(m)["seg"] for o, m in objs.items()}
                for f, objs in s["refs"].items()
            },
        }
        if "eval_files" in s:
            rec["eval_files"] = s["eval_files"]
        records.append(rec)
    path = root / "data.json"
    path.write_text(json.dumps({"sequences": records}))
    return path


def params(**kw) -> InferParams:
    base = dict(temporal_window=3, min_image_dim=64, max_dim_ratio=2.0, backbone_batch_size=4, amp="none")
    return InferParams(**{**base, **kw})


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return quick_model()


def run(model, root: Path, out: Path, kind: str, **kw):
    ds = load_video_dataset(root / "data.json", root / "images")
    return infer_dataset(model, ds, out, kw.pop("p", params()), kind, "cpu", progress=False, **kw)


def test_davis_outputs(tmp_path: Path, model) -> None:
    refs = {0: {1: box(10, 40, 10, 40), 2: box(45, 60, 50, 90)}}
    write_dataset(tmp_path, [{"id": "bear", "n": 5, "refs": refs}, {"id": "cat", "n": 3, "refs": refs}])
    summary = run(model, tmp_path, tmp_path / "out", "davis")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert files == [f"bear/{5 * t:05d}.png" for t in range(5)] + [f"cat/{5 * t:05d}.png" for t in range(3)]
    for f in files:
        with Image.open(tmp_path / "out" / f) as im:
            assert im.mode == "P" and im.size == (W, H)
            assert np.array_equal(np.array(im.getpalette()).reshape(-1, 3)[:256], davis_palette())
            assert set(np.unique(np.array(im))) <= {0, 1, 2}
    # No resize at this size: the first frame is the reference itself.
    first = np.array(Image.open(tmp_path / "out/bear/00000.png"))
    assert np.array_equal(first, refs[0][1] * 1 + refs[0][2] * 2)
    assert summary.frames == 8 and summary.fps > 0 and summary.skipped == 0
    info = json.loads((tmp_path / "out/inference_summary.json").read_text())
    assert info["frames"] == 8 and info["temporal_window"] == 3 and info["min_image_dim"] == 64


def test_youtube_vos_late_objects_and_zip(tmp_path: Path, model) -> None:
    seqs = [
        # object 3 first appears at frame 2
        {"id": "v1", "n": 5, "refs": {0: {1: box(10, 40, 10, 40)}, 2: {3: box(45, 62, 60, 92)}},
         "eval_files": ["00000.jpg", "00010.jpg"]},
        # no object before frame 1: frame 0 must be all zeros at the original size
        {"id": "v2", "n": 3, "refs": {1: {2: box(5, 30, 5, 30, (48, 72))}}, "size": (48, 72)},
    ]  # fmt: skip
    write_dataset(tmp_path, seqs)
    out = tmp_path / "out"
    run(model, tmp_path, out, "youtube_vos")
    read = lambda p: np.array(Image.open(out / "Annotations" / p))  # noqa: E731
    assert 3 not in read("v1/00000.png") and 3 not in read("v1/00005.png")
    late = read("v1/00010.png")
    assert np.array_equal(late == 3, box(45, 62, 60, 92).astype(bool))  # GT override at its first frame
    zero = read("v2/00000.png")
    assert zero.shape == (48, 72) and not zero.any()
    # 48x72 is resized to the 64x96 network input and back: the reference survives up to its border.
    got, ref = read("v2/00005.png") == 2, box(5, 30, 5, 30, (48, 72)).astype(bool)
    assert (got & ref).sum() / (got | ref).sum() > 0.9 and set(np.unique(read("v2/00005.png"))) <= {0, 2}
    with Image.open(out / "Annotations/v1/00000.png") as im:
        assert np.array_equal(np.array(im.getpalette()).reshape(-1, 3)[:256], youtube_vos_palette())
    with zipfile.ZipFile(out / "Annotations.zip") as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        assert sorted(zf.namelist()) == sorted(
            ["Annotations/v1/00000.png", "Annotations/v1/00010.png"]
            + [f"Annotations/v2/{5 * t:05d}.png" for t in range(3)]
        )


def test_resume_skips_finished_sequences(tmp_path: Path, model) -> None:
    refs = {0: {1: box(10, 40, 10, 40)}}
    write_dataset(tmp_path, [{"id": "a", "n": 3, "refs": refs}, {"id": "b", "n": 3, "refs": refs}])
    out = tmp_path / "out"
    first = run(model, tmp_path, out, "davis")
    kept = (out / "a/00000.png").stat().st_mtime_ns
    # Simulate a run killed inside sequence b: its marker and a PNG are gone, a stray temp file is left.
    (out / ".hodor_done/b.json").unlink()
    (out / "b/00005.png").unlink()
    (out / "b/.00010.png.x.png.tmp").write_bytes(b"partial")
    second = run(model, tmp_path, out, "davis")
    assert second.skipped == 1 and second.frames == first.frames
    assert (out / "a/00000.png").stat().st_mtime_ns == kept
    assert sorted(p.name for p in (out / "b").iterdir()) == ["00000.png", "00005.png", "00010.png"]
    # Other settings (here the window) make the old outputs stale: everything is redone.
    third = run(model, tmp_path, out, "davis", p=params(temporal_window=1))
    assert third.skipped == 0


def test_tiny_object_is_dropped_loudly(tmp_path: Path, model, caplog) -> None:
    refs = {0: {1: box(10, 40, 10, 40), 2: box(50, 51, 80, 81)}}  # a 1-pixel object vanishes at stride 8
    write_dataset(tmp_path, [{"id": "s", "n": 3, "refs": refs}])
    with caplog.at_level(logging.WARNING):
        summary = run(model, tmp_path, tmp_path / "out", "davis")
    assert summary.dropped_objects == {"s": [2]}
    assert "object 2 DROPPED" in caplog.text
    for t in range(3):
        assert 2 not in np.array(Image.open(tmp_path / f"out/s/{5 * t:05d}.png"))


def test_first_frame_without_mask_is_an_error_for_davis(tmp_path: Path, model) -> None:
    write_dataset(tmp_path, [{"id": "late", "n": 3, "refs": {1: {1: box(10, 40, 10, 40)}}}])
    with pytest.raises(InputError, match="'late': the first frame .* has no mask"):
        run(model, tmp_path, tmp_path / "out", "davis")


def test_missing_frame_is_an_error(tmp_path: Path, model) -> None:
    write_dataset(tmp_path, [{"id": "gap", "n": 3, "refs": {0: {1: box(10, 40, 10, 40)}}}])
    (tmp_path / "images/gap/00005.jpg").unlink()
    with pytest.raises(InputError, match=r"gap/00005.jpg: frame not found"):
        run(model, tmp_path, tmp_path / "out", "davis")


def test_mask_size_differs_from_frames(tmp_path: Path, model) -> None:
    write_dataset(tmp_path, [{"id": "big", "n": 2, "refs": {0: {1: box(10, 40, 10, 40)}}}])
    data = json.loads((tmp_path / "data.json").read_text())
    data["sequences"][0].update(height=H + 8, width=W)  # masks claim another size than the JPEGs
    data["sequences"][0]["segmentations"] = {"0": {"1": encode_mask(box(10, 40, 10, 40, (H + 8, W)))["seg"]}}
    (tmp_path / "data.json").write_text(json.dumps(data))
    with pytest.raises(
        InputError,
        match=rf"big/00000.jpg: frame 0 of sequence 'big' is {H}x{W} but the sequence's masks are {H + 8}x{W}",
    ):
        run(model, tmp_path, tmp_path / "out", "davis")


def test_checkpoint_that_does_not_match_the_config(tmp_path: Path) -> None:
    quick = ModelParams(variant="quick")
    ckpt = save_checkpoint(tmp_path / "c.pth", quick_model(), quick)
    assert load_model(ckpt, quick, "cpu") is not None
    with pytest.raises(InputError, match=r"model.dim: checkpoint 64 vs params 128"):
        load_model(ckpt, ModelParams(variant="quick", dim=128), "cpu")
    # A checkpoint without recorded params (e.g. official) whose weights do not fit.
    torch.save({"model": quick_model().state_dict()}, tmp_path / "bare.pth")
    with pytest.raises(InputError, match=r"bare.pth: .*does not fit the model"):
        load_model(tmp_path / "bare.pth", ModelParams(variant="quick", dim=128), "cpu")
    with pytest.raises(InputError, match=r"bare.pth: records no model params; pass --params"):
        load_model(tmp_path / "bare.pth", None, "cpu")
