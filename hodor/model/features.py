"""Feature extractor: backbone (Swin-T or a timm CNN) + FPN + one GroupNorm per level (hodor-model.md §2)."""

from __future__ import annotations

import timm
import torch.nn.functional as F
from torch import Tensor, nn

from hodor.model.swin import SwinBackbone

STRIDES = (4, 8, 16, 32)


class FPN(nn.Module):
    """mmdetection-style FPN without norms/activations: 1x1 laterals, nearest top-down, 3x3 outputs.

    (The official fifth, max-pooled level is computed and thrown away there; we skip it.)
    """

    def __init__(self, in_channels: list[int], dim: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in in_channels)
        self.output = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1) for _ in in_channels)

    def forward(self, feats: list[Tensor], levels: tuple[int, ...] | None = None) -> dict[int, Tensor]:
        """Maps fine to coarse ``[B, C_l, h_l, w_l]`` -> ``{l: [B, dim, h_l, w_l]}`` for the ``levels``
        asked (default all). Every lateral feeds the top-down path; only the asked outputs are convolved."""
        lat = [conv(f) for conv, f in zip(self.lateral, feats, strict=True)]
        for level in range(len(lat) - 1, 0, -1):
            lat[level - 1] = lat[level - 1] + F.interpolate(
                lat[level], size=lat[level - 1].shape[-2:], mode="nearest"
            )
        levels = range(len(lat)) if levels is None else levels
        return {level: self.output[level](lat[level]) for level in levels}


class TimmCNNBackbone(nn.Module):
    """A timm ``features_only`` CNN giving strides 4, 8, 16, 32 (the quick variant), random init."""

    def __init__(self, name: str, drop_path: float = 0.0) -> None:
        super().__init__()
        self.body = timm.create_model(name, features_only=True, pretrained=False, drop_path_rate=drop_path)
        reductions = list(self.body.feature_info.reduction())
        missing = [s for s in STRIDES if s not in reductions]
        if missing:
            raise ValueError(f"timm backbone {name!r} gives strides {reductions}, needs {list(STRIDES)}")
        self.indices = [reductions.index(s) for s in STRIDES]
        self.channels = [self.body.feature_info.channels()[i] for i in self.indices]

    def forward(self, images: Tensor) -> list[Tensor]:
        """``[B, 3, H, W]`` -> maps at strides 4, 8, 16, 32."""
        feats = self.body(images)
        return [feats[i] for i in self.indices]


class FeatureExtractor(nn.Module):
    """Backbone -> FPN -> GroupNorm(16, dim) per level. ``norm_layers`` has one extra, unused GroupNorm
    (official fifth level) so official checkpoints load strictly."""

    def __init__(self, backbone: str, dim: int, drop_path: float = 0.2) -> None:
        super().__init__()
        self.backbone = (
            SwinBackbone(drop_path=drop_path)
            if backbone == "swin_tiny"
            else TimmCNNBackbone(backbone, drop_path)
        )
        self.fpn = FPN(self.backbone.channels, dim)
        self.norm_layers = nn.ModuleList(nn.GroupNorm(16, dim) for _ in range(len(STRIDES) + 1))

    def forward(self, images: Tensor, strides: tuple[int, ...] = STRIDES) -> dict[int, Tensor]:
        """``[B, 3, H, W]`` (H, W multiples of 32) -> ``{s: [B, dim, H/s, W/s]}`` for the asked strides.

        The decoder and encoder read strides 4 and 8 only; asking for just those skips the 3x3 output
        convolutions and norms of 16 and 32 (their laterals still shape 4 and 8 through the top-down path)."""
        unknown = [s for s in strides if s not in STRIDES]
        if unknown:
            raise ValueError(f"strides {unknown} not in {list(STRIDES)}")
        maps = self.fpn(self.backbone(images), tuple(STRIDES.index(s) for s in strides))
        return {STRIDES[lv]: self.norm_layers[lv](x) for lv, x in maps.items()}
