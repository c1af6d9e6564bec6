"""Image pre-processing exactly as the official HODOR code does it (hodor-model.md §9, hodor-inference.md §2).

Order matters for parity: frames are read as BGR uint8 by OpenCV, converted to float WITHOUT dividing by
255, resized bilinearly (``align_corners=False``, no antialias) to a size given by :func:`resized_dims`,
normalised with the BGR mean/std on the 0..255 scale, flipped to RGB, and zero-padded at the right/bottom
to a multiple of 32 (so the padding equals the mean colour). Reference masks are resized bilinearly as
floats and thresholded at 0.5. Training imports the same helpers so both paths agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hodor.errors import InputError

# Official constants, in B, G, R order on a 0..255 scale (configs/static_image.yaml INPUT.IMAGE_MEAN/STD).
IMAGE_MEAN_BGR = (103.53, 116.28, 123.675)
IMAGE_STD_BGR = (57.375, 57.12, 58.395)
PAD_MULTIPLE = 32


def resized_dims(h: int, w: int, min_dim: int, max_dim: int) -> tuple[int, int]:
    """The official resize rule: short side to ``min_dim`` unless the long side would exceed ``max_dim``.

    Uses Python's ``round`` (banker's rounding at .5), like the official code.
    """
    if h <= 0 or w <= 0:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    if min_dim <= 0 or max_dim < min_dim:
        raise ValueError(f"need 0 < min_dim <= max_dim, got min_dim={min_dim}, max_dim={max_dim}")
    scale = min_dim / min(h, w)
    if max(h, w) * scale > max_dim:
        scale = max_dim / max(h, w)
    return round(scale * h), round(scale * w)


def _normalize_nchw_bgr(x: Tensor) -> Tensor:
    """[N, 3, H, W] float BGR 0..255 -> [N, 3, H, W] float RGB normalised."""
    mean = torch.tensor(IMAGE_MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).flip(1)


def _to_nchw_float(images: Tensor | np.ndarray) -> Tensor:
    """[N, H, W, 3] or [H, W, 3] (uint8 or float, BGR 0..255) -> [N, 3, H, W] float32."""
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected [N, H, W, 3] or [H, W, 3] BGR images, got shape {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2).float()


def normalize_bgr(images: Tensor | np.ndarray) -> Tensor:
    """[N, H, W, 3] or [H, W, 3] uint8/float BGR on 0..255 -> [N, 3, H, W] float32 RGB, normalised."""
    return _normalize_nchw_bgr(_to_nchw_float(images))


def pad_to_multiple(x: Tensor, multiple: int = PAD_MULTIPLE) -> Tensor:
    """Zero-pad the last two dims at the right/bottom up to the next multiple of ``multiple``."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h))


def resize_bilinear(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of [N, C, H, W] float maps to ``size`` (align_corners=False, no antialias)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def preprocess_frames(
    frames_bgr: Tensor | np.ndarray | Sequence[np.ndarray], size: tuple[int, int]
) -> Tensor:
    """BGR uint8 frames [N, H, W, 3] -> network input [N, 3, Hp, Wp] (resize, normalise, pad to x32).

    ``size`` is the resized (h, w) from :func:`resized_dims`; Hp, Wp are its multiples of 32.
    """
    if isinstance(frames_bgr, (list, tuple)):
        frames_bgr = np.stack(frames_bgr)
    x = resize_bilinear(_to_nchw_float(frames_bgr), size)
    return pad_to_multiple(_normalize_nchw_bgr(x))


def resize_mask(mask: Tensor | np.ndarray, size: tuple[int, int]) -> Tensor:
    """0/1 masks [..., H, W] -> bool [..., h, w]: bilinear resize of the float mask, then > 0.5."""
    m = torch.as_tensor(mask).float()
    lead = m.shape[:-2]
    m = m.reshape(1, -1, *m.shape[-2:])
    out = resize_bilinear(m, size) > 0.5
    return out.reshape(*lead, *size)


def read_frame_bgr(path: str | Path) -> np.ndarray:
    """Read one frame as [H, W, 3] uint8 BGR (as OpenCV does); InputError naming the file on failure.

    ``cv2.imread`` applies the EXIF orientation tag (the official code's rule); the converters measure
    image sizes by the same rule (hodor.convert.validate.oriented_size)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: frame not found; check the dataset image root and the JSON's image paths")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: OpenCV cannot decode this frame; re-export it as JPEG or PNG")
    return image
