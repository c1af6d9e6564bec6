"""Unit tests of hodor.data.image_ops: the resize rule, normalisation constants, padding, frame reading."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from hodor.data.image_ops import (
    normalize_bgr,
    pad_to_multiple,
    preprocess_frames,
    read_frame_bgr,
    resize_mask,
    resized_dims,
)
from hodor.errors import InputError


def test_resized_dims_official_examples() -> None:
    # DAVIS 480x854 at min dim 512 / max 987 -> 512x911 (hodor-inference.md §1).
    assert resized_dims(480, 854, 512, 987) == (512, 911)
    # Long side capped by max dim.
    assert resized_dims(250, 371, 192, 300) == (192, 285)
    assert resized_dims(100, 1000, 100, 500) == (50, 500)
    # Python round is banker's rounding: 2.5 -> 2, 3.5 -> 4.
    assert resized_dims(2, 5, 2, 100) == (2, 5)
    assert resized_dims(4, 5, 2, 100) == (2, 2)  # 2.5 -> 2
    assert resized_dims(4, 7, 2, 100) == (2, 4)  # 3.5 -> 4


def test_normalize_bgr_mean_colour_maps_to_zero_and_flips_to_rgb() -> None:
    img = np.zeros((2, 3, 3), dtype=np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    out = normalize_bgr(img)
    assert out.shape == (1, 3, 2, 3)
    # RGB order: the last channel is blue.
    assert torch.allclose(out[0, 2], torch.full((2, 3), (255 - 103.53) / 57.375))
    assert torch.allclose(out[0, 0], torch.full((2, 3), -123.675 / 58.395))
    mean = torch.tensor([103.53, 116.28, 123.675]).expand(4, 4, 3)
    assert normalize_bgr(mean).abs().max() < 1e-6


def test_pad_and_preprocess_shapes() -> None:
    x = torch.ones(1, 3, 33, 64)
    p = pad_to_multiple(x)
    assert p.shape == (1, 3, 64, 64) and p[..., 33:, :].abs().sum() == 0
    frames = np.random.default_rng(0).integers(0, 255, (2, 65, 97, 3), dtype=np.uint8)
    out = preprocess_frames(frames, (40, 60))
    assert out.shape == (2, 3, 64, 64)
    assert out[..., 40:, :].abs().sum() == 0 and out[..., :, 60:].abs().sum() == 0
    m = resize_mask(np.ones((65, 97), np.uint8), (40, 60))
    assert m.dtype == torch.bool and m.shape == (40, 60) and m.all()


def test_read_frame_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="frame not found"):
        read_frame_bgr(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot decode"):
        read_frame_bgr(bad)
    good = tmp_path / "ok.png"
    cv2.imwrite(str(good), np.full((5, 6, 3), 7, np.uint8))
    assert read_frame_bgr(good).shape == (5, 6, 3)
