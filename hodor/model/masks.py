"""Soft masks given to the encoder at stride 8 (hodor-model.md §3).

Background is split into ``num_bg`` patch masks on a grid (3x3 for the official 9); object masks come either
from reference masks at full resolution (bilinear 1/8, no antialias -- not area pooling) or from the
model's own softmax probabilities already at stride 8.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hodor.model.params import BG_GRIDS

MASK_STRIDE = 8


def background_patch_masks(
    h: int, w: int, num_patches: int = 9, device: torch.device | None = None
) -> Tensor:
    """Grid patch masks ``[num_patches, h, w]`` float 0/1, row-major patch index (row * cols + col).

    Patch height is ``h // rows`` and width ``w // cols``; the last row/column absorbs the remainder
    (official rule).
    """
    if num_patches not in BG_GRIDS:
        raise ValueError(f"num_patches must be one of {sorted(BG_GRIDS)}, got {num_patches}")
    rows, cols = BG_GRIDS[num_patches]
    ph, pw = h // rows, w // cols
    masks = torch.zeros(num_patches, h, w, device=device)
    for r in range(rows):
        y1 = h if r == rows - 1 else (r + 1) * ph
        for c in range(cols):
            x1 = w if c == cols - 1 else (c + 1) * pw
            masks[r * cols + c, r * ph : y1, c * pw : x1] = 1.0
    return masks


def downsample_to_stride8(masks: Tensor) -> Tensor:
    """``[B, K, H, W]`` -> ``[B, K, H/8, W/8]``: bilinear, scale 1/8, align_corners False, no antialias."""
    return F.interpolate(
        masks,
        scale_factor=1.0 / MASK_STRIDE,
        mode="bilinear",
        align_corners=False,
        recompute_scale_factor=False,
    )


def encoder_masks_from_masks(
    fg_fullres: Tensor, num_bg: int = 9, background: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Encoder masks from reference masks at full (padded) input resolution.

    Args:
        fg_fullres: ``[B, I, H, W]`` float 0/1 object masks; H and W multiples of 8.
        num_bg: number of background patch masks.
        background: optional ``[B, H, W]`` 0/1 background; default: 1 where every object mask is < 0.5.
    Returns:
        ``fg8 [B, I, H/8, W/8]`` and ``bg8 [B, num_bg, H/8, W/8]``, float in [0, 1].
    """
    if fg_fullres.dim() != 4:
        raise ValueError(f"fg_fullres must be [B, I, H, W], got shape {tuple(fg_fullres.shape)}")
    b, num_obj, h, w = fg_fullres.shape
    if h % MASK_STRIDE or w % MASK_STRIDE:
        raise ValueError(
            f"mask size {h}x{w} must be a multiple of {MASK_STRIDE} (pad images and masks first)"
        )
    fg = fg_fullres.float()
    if background is None:
        background = (
            (fg < 0.5).all(dim=1) if num_obj else torch.ones(b, h, w, dtype=torch.bool, device=fg.device)
        )
    elif background.shape != (b, h, w):
        raise ValueError(f"background must be [B, H, W] = {(b, h, w)}, got {tuple(background.shape)}")
    patches = background_patch_masks(h, w, num_bg, device=fg.device)
    bg = patches.unsqueeze(0) * background.float().unsqueeze(1)
    both = downsample_to_stride8(torch.cat([bg, fg], dim=1))
    return both[:, num_bg:], both[:, :num_bg]


def encoder_masks_from_probs(fg_probs8: Tensor, num_bg: int = 9) -> tuple[Tensor, Tensor]:
    """Encoder masks from predicted object probabilities at stride 8 (propagation).

    Args:
        fg_probs8: ``[B, I, h, w]`` softmax probabilities of the I object channels.
    Returns:
        ``fg8 = fg_probs8`` and ``bg8 [B, num_bg, h, w] = (1 - sum_i fg_i) * patch masks`` (clamped to
        [0, 1] against rounding).
    """
    b, _, h, w = fg_probs8.shape
    soft_bg = (1.0 - fg_probs8.sum(dim=1, keepdim=True)).clamp(0.0, 1.0)
    patches = background_patch_masks(h, w, num_bg, device=fg_probs8.device).to(fg_probs8.dtype)
    return fg_probs8, soft_bg * patches.unsqueeze(0)
