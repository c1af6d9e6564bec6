"""Parity with the official HODOR code: pre-processing (pathD) and the full inference loop (pathB).

Reads every ``case_*.pt`` in the fixture directory from env ``HODOR_PARITY_FIXTURE`` (default
``<repo>/../shared/fixtures/hodor-parity``); see that directory's README for what each case holds.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import pytest
import torch

from hodor.data.image_ops import pad_to_multiple, preprocess_frames, resize_mask, resized_dims

FIXTURE_DIR = Path(
    os.environ.get(
        "HODOR_PARITY_FIXTURE", Path(__file__).resolve().parents[1].parent / "shared/fixtures/hodor-parity"
    )
)
CASES = sorted(FIXTURE_DIR.glob("case_*.pt"))
pytestmark = pytest.mark.skipif(not CASES, reason=f"no parity fixture case_*.pt in {FIXTURE_DIR}")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: on this shared 2-core machine, 2 threads under load run ~10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_pathD_preprocessing(case: Path) -> None:
    d = _load(case)["pathD"]
    raw = d["raw_bgr_uint8"]
    h, w = raw.shape[:2]
    size = resized_dims(h, w, d["min_dim"], d["max_dim"])
    assert size == tuple(d["resized_hw"])
    ours = preprocess_frames(raw.numpy(), size)
    ref = d["normalized_padded"]
    assert ours.shape == ref.shape
    tol = 1e-4 * max(1.0, ref.abs().max().item())
    assert (ours - ref).abs().max().item() <= tol

    # The fixture's reference mask: the box [50:120, 60:200] at the raw size.
    box = torch.zeros(h, w, dtype=torch.uint8)
    box[50:120, 60:200] = 1
    mask = pad_to_multiple(resize_mask(box, size).to(torch.uint8)[None])
    assert torch.equal(mask, d["ref_mask_padded"].to(torch.uint8))


# --------------------------------------------------------------------------------------------- pathB
def _official_state_dict(tsv: Path) -> dict[str, torch.Tensor]:
    """The fixture README's weight rule, on the official names listed in official_state_dict.tsv."""
    state = {}
    for line in tsv.read_text().splitlines()[1:]:
        name, shape_text, dtype = line.split("\t")[:3]
        if dtype != "float32":
            continue  # int64 relative_position_index buffers: the model computes them itself
        shape = [int(s) for s in shape_text.strip("[]").split(",") if s.strip()]
        x = torch.randn(shape, generator=torch.Generator().manual_seed(zlib.crc32(name.encode("utf-8"))))
        if name.endswith("scaling_factors"):
            value = torch.tensor([32, 32, 16, 16, 8, 8, 4, 4], dtype=torch.float32) * (1 + 0.1 * x)
        elif name.endswith("bias") or name.endswith("relative_position_bias_table"):
            value = 0.02 * x
        elif len(shape) == 1 and name.endswith("weight"):
            value = 1 + 0.1 * x
        elif len(shape) == 1:
            value = 0.1 * x
        else:
            value = x / math.sqrt(x.numel() / shape[0])
        state[name] = value
    return state


@pytest.fixture(scope="module")
def paper_model() -> torch.nn.Module:
    from hodor.model import ModelParams, build_model
    from hodor.model.checkpoint import load_model_weights

    model = build_model(ModelParams(variant="paper")).eval()
    load_model_weights(model, {"model": _official_state_dict(FIXTURE_DIR / "official_state_dict.tsv")})
    return model


def _run_pathB(model: torch.nn.Module, case: dict, key: str) -> torch.Tensor:
    from hodor.infer.segmenter import VideoSegmenter

    p = case[key]
    seg = VideoSegmenter(model, temporal_window=p["temporal_window"], device="cpu")
    seg.reset(key)
    for frame, objects in sorted(p["ref_masks"].items()):
        for obj_id, mask in objects:
            seg.add_object_mask(frame, obj_id, mask, at_input_size=True)
    frames = case["frames"]
    results = seg.propagate_preprocessed(
        frames, input_hw=tuple(p["resized_dims"]), orig_hw=tuple(p["orig_dims"])
    )
    return torch.stack([torch.from_numpy(r.labels) for r in results])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
@pytest.mark.parametrize("key", ["pathB", "pathB_tw1"])
def test_pathB_inference_loop_labels(case: Path, key: str, paper_model: torch.nn.Module) -> None:
    data = _load(case)
    ours = _run_pathB(paper_model, data, key)
    ref = data[key]["labels"].to(torch.uint8)
    assert ours.shape == ref.shape
    differ = (ours != ref).sum().item()
    # Identical, or a handful of pixels at exact ties (reported by the assertion message).
    assert differ == 0, f"{differ} of {ref.numel()} label pixels differ from the official loop ({key})"
