"""Parity with the official HODOR code: pre-processing (pathD) and the full inference loop (pathB).

Reads every ``case_*.pt`` in the fixture directory from env ``HODOR_PARITY_FIXTURE`` (default
``<repo>/../shared/fixtures/hodor-parity``); see that directory's README for what each case holds.
"""

from __future__ import annotations

import os
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
