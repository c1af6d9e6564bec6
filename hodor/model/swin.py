"""The official (mmdetection-flavoured) Swin-T, assembled from timm's modules.

timm provides patch embedding, window attention, MLP, drop-path and patch merging. We own only what the
official model does differently (hodor-model.md §1, §13):

* the block's window step pads the token map to a multiple of the window FIRST, then rolls it, and builds
  the -100 shift mask on the padded map (timm rolls first, then pads);
* windows are always full 7x7 (timm may shrink them on small maps);
* every stage output (before the next patch merging) goes through its own LayerNorm ``norm{s}``.

Parameter names follow timm (``layers.{s}.downsample`` merges INTO stage s), which differs from the
official names (``layers.{s}.downsample`` merges OUT of stage s); ``checkpoint.py`` maps them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import PatchEmbed
from timm.models.swin_transformer import PatchMerging, SwinTransformerBlock, window_partition, window_reverse
from torch import Tensor, nn

from hodor.model.onednn import fuse_mlp_gelu


class OfficialPadSwinBlock(SwinTransformerBlock):
    """timm's Swin block with the official pad-then-roll order of the (shifted) window attention.

    The window step moves tokens with one gather each way (:func:`window_gather_index`) instead of pad,
    roll, partition / reverse, roll, crop (a third of the backbone's CPU time was those copies, see
    benchmarks/README.md); the shift mask of a map size is built once and kept. Same values, bit for bit:
    :meth:`_attn_reference` is the plain sequence the tests compare against.
    """

    def _attn(self, x: Tensor) -> Tensor:
        """``[B, H, W, C]`` (after norm1) -> ``[B, H, W, C]``."""
        b, h, w, c = x.shape
        gather, scatter, mask = self._window_plan(h, w, x.device, x.dtype)
        tokens = torch.cat([x.reshape(b, h * w, c), x.new_zeros(b, 1, c)], dim=1)  # last row: the padding
        windows = tokens[:, gather].view(-1, self.window_area, c)  # [B * nW, Wh * Ww, C]
        windows = self.attn(windows, mask=mask).view(b, -1, c)
        return windows[:, scatter].view(b, h, w, c)

    def _window_plan(
        self, h: int, w: int, device: torch.device, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """(gather, scatter, shift mask) for an h x w map, built once per size, device and dtype."""
        key = (h, w, device, dtype, torch.is_inference_mode_enabled())
        cache = self.__dict__.setdefault("_plans", {})  # not a buffer: never saved, never moved
        if key not in cache:
            with torch.no_grad():
                gather, scatter, hp, wp = window_gather_index(h, w, self.window_size, self.shift_size)
                mask = None
                if any(self.shift_size):  # regions of the padded, rolled map; -100 between different ones
                    mask = self.get_attn_mask(torch.empty(1, hp, wp, 1, device=device, dtype=dtype))
                cache[key] = (gather.to(device), scatter.to(device), mask)
        return cache[key]

    def _attn_reference(self, x: Tensor) -> Tensor:
        """The official window step spelled out (pad, roll, partition, attention, reverse, roll, crop)."""
        _, h, w, c = x.shape
        wh, ww = self.window_size
        x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
        _, hp, wp, _ = x.shape
        shift = self.shift_size
        if any(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
            mask = self.get_attn_mask(x)
        else:
            mask = None
        windows = window_partition(x, self.window_size).view(-1, self.window_area, c)
        windows = self.attn(windows, mask=mask).view(-1, wh, ww, c)
        x = window_reverse(windows, self.window_size, hp, wp)
        if any(shift):
            x = torch.roll(x, shifts=shift, dims=(1, 2))
        return x[:, :h, :w, :].contiguous()


def window_gather_index(
    h: int, w: int, window: tuple[int, int], shift: tuple[int, int]
) -> tuple[Tensor, Tensor, int, int]:
    """Token indices of the official window step on an h x w map (row-major tokens ``i * w + j``).

    The map is padded (right, bottom) to ``hp x wp``, multiples of the window, then rolled by ``-shift``
    and cut into windows (row-major windows, row-major inside). ``gather [nW * Wh * Ww]``: the token each
    window position reads (``h * w`` = a padding zero); ``scatter [h * w]``: the window position each
    token's output comes from. Returns ``(gather, scatter, hp, wp)``.
    """
    (wh, ww), (sh, sw) = window, shift
    hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
    ys = (torch.arange(hp) + sh) % hp  # rolled row r reads padded row (r + shift) mod hp
    xs = (torch.arange(wp) + sw) % wp
    src = torch.where((ys[:, None] < h) & (xs[None, :] < w), ys[:, None] * w + xs[None, :], h * w)
    # [hp, wp] -> windows: [hp / wh, wh, wp / ww, ww] -> [hp / wh, wp / ww, wh, ww]
    gather = src.view(hp // wh, wh, wp // ww, ww).permute(0, 2, 1, 3).reshape(-1)
    scatter = torch.empty(h * w, dtype=torch.long)
    real = gather < h * w
    scatter[gather[real]] = torch.arange(gather.numel())[real]
    return gather, scatter, hp, wp


class SwinStage(nn.Module):
    """Optional patch merging (into this stage), then ``depth`` blocks alternating shift 0 / window // 2."""

    def __init__(
        self,
        in_dim: int,
        dim: int,
        depth: int,
        heads: int,
        window: int,
        drop_path: list[float],
        downsample: bool,
    ) -> None:
        super().__init__()
        self.downsample = PatchMerging(in_dim, dim) if downsample else nn.Identity()
        self.blocks = nn.Sequential(
            *[
                OfficialPadSwinBlock(
                    dim=dim,
                    input_resolution=(window, window),  # unused: always_partition + dynamic_mask
                    num_heads=heads,
                    window_size=window,
                    shift_size=0 if j % 2 == 0 else window // 2,
                    always_partition=True,
                    dynamic_mask=True,
                    mlp_ratio=4.0,
                    qkv_bias=True,
                    drop_path=drop_path[j],
                )
                for j in range(depth)
            ]
        )
        for block in self.blocks:
            # timm's fused path (scaled_dot_product_attention with the relative-position bias and shift mask
            # as a float mask) instead of scale, matmul, two adds, softmax, matmul: off by default in timm
            # ("experimental"); here it measured 1.15x on the backbone at 480p, fp32 values within 3e-6.
            block.attn.fused_attn = True
            fuse_mlp_gelu(block.mlp)  # fc1 + GELU in one oneDNN pass at inference (hodor/model/onednn.py)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, H, W, C_in]`` NHWC -> ``[B, H', W', C]``."""
        return self.blocks(self.downsample(x))


class SwinBackbone(nn.Module):
    """Swin-T (embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7) returning all four normed stages.

    Input ``[B, 3, H, W]`` (any size; padded right/bottom to a multiple of 4); output list of NCHW maps at
    strides 4, 8, 16, 32 with 96, 192, 384, 768 channels.
    """

    def __init__(
        self,
        embed_dim: int = 96,
        depths: tuple[int, ...] = (2, 2, 6, 2),
        heads: tuple[int, ...] = (3, 6, 12, 24),
        window: int = 7,
        drop_path: float = 0.2,
    ) -> None:
        super().__init__()
        dims = [embed_dim * 2**s for s in range(len(depths))]
        self.channels = dims
        self.patch_embed = PatchEmbed(
            img_size=None,
            patch_size=4,
            in_chans=3,
            embed_dim=embed_dim,
            norm_layer=nn.LayerNorm,
            output_fmt="NHWC",
            strict_img_size=False,
            dynamic_img_pad=True,
        )
        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        starts = [sum(depths[:s]) for s in range(len(depths))]
        self.layers = nn.ModuleList(
            SwinStage(
                dims[max(s - 1, 0)],
                dims[s],
                depths[s],
                heads[s],
                window,
                rates[starts[s] : starts[s] + depths[s]],
                downsample=s > 0,
            )
            for s in range(len(depths))
        )
        for s, d in enumerate(dims):
            self.add_module(f"norm{s}", nn.LayerNorm(d))

    def forward(self, images: Tensor) -> list[Tensor]:
        """``[B, 3, H, W]`` -> 4 maps ``[B, C_s, ceil(H / 2^(s+2)), ceil(W / 2^(s+2))]``."""
        x = self.patch_embed(images)
        outs = []
        for s, stage in enumerate(self.layers):
            x = stage(x)
            outs.append(getattr(self, f"norm{s}")(x).permute(0, 3, 1, 2).contiguous())
        return outs
