"""Decoder ("FQ->M"): descriptors + target-frame features -> per-pixel mask logits (hodor-model.md §6)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hodor.model.attention import sine_position_encoding


class DeformConv3x3(nn.Module):
    """3x3 deformable convolution (DCNv1: one offset group, no modulation), stride 1, padding 1.

    Same maths and parameter names (``weight [C_out, C_in, 3, 3]``, ``bias [C_out]``) as
    ``torchvision.ops.DeformConv2d(c_in, c_out, 3, padding=1)``, computed as one bilinear ``grid_sample`` of
    the 9 shifted copies of the input plus one matrix product. Why: torchvision's CPU kernel samples with
    a scalar loop (28% of the paper model's inference time at 480p, see benchmarks/inference_fps.py) and has
    no bf16 kernel, while ``grid_sample`` is vectorised, runs in any dtype and has a backward for input and
    offsets. Sampling points outside the map read zeros, as in torchvision.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.empty(c_out))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # torchvision's DeformConv2d init
        nn.init.uniform_(self.bias, -1 / math.sqrt(c_in * 9), 1 / math.sqrt(c_in * 9))

    def forward(self, x: Tensor, offsets: Tensor) -> Tensor:
        """x ``[B, C_in, h, w]``, offsets ``[B, 18, h, w]`` ((dy, dx) per tap, taps row-major)
        -> ``[B, C_out, h, w]``."""
        b, c, h, w = x.shape
        # Sampling in float32 even under autocast: the CPU grid_sample has no fast bf16 path (measured
        # 40x slower); the matrix product below follows autocast.
        with torch.autocast(x.device.type, enabled=False):
            grid = _deform_grid(offsets.float(), h, w)  # [B, 9 * h, w, 2]
            cols = _sample_taps(x.float(), grid)  # [B, C_in, 9 * h, w]
        cols = cols.reshape(b, c * 9, h * w)  # channel-major then tap: matches weight.view(C_out, C_in * 9)
        out = torch.matmul(self.weight.reshape(self.weight.shape[0], -1), cols)
        return (out + self.bias[:, None].to(out.dtype)).view(b, -1, h, w)


def _sample_taps(x: Tensor, grid: Tensor) -> Tensor:
    """Bilinear ``grid_sample`` of x ``[B, C, h, w]`` at grid ``[B, 9 * h, w, 2]`` -> ``[B, C, 9 * h, w]``.

    The CPU kernel (forward and backward) is parallel over the batch only, so at batch 1 it runs on one
    thread (5% of the paper model's inference and 10% of a training step, profiles in benchmarks/README.md).
    The channels are split into ``G`` groups folded into the batch (a view; the grid is shared), so G
    threads sample: every output value is computed exactly as before, and the result has the same memory
    layout. The grid's gradient is summed over the groups (a different summation order only)."""
    b, c, h, w = x.shape
    groups = _channel_groups(b, c) if x.device.type == "cpu" else 1
    if groups == 1:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    grid = grid.unsqueeze(1).expand(b, groups, *grid.shape[1:]).reshape(b * groups, *grid.shape[1:])
    cols = F.grid_sample(
        x.reshape(b * groups, c // groups, h, w),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    return cols.view(b, c, *cols.shape[-2:])


def _channel_groups(b: int, c: int) -> int:
    """Smallest divisor G of C with B * G >= torch's thread count (1 when the batch fills the threads)."""
    want = -(-torch.get_num_threads() // b)
    return next((g for g in range(want, c + 1) if c % g == 0), 1) if want > 1 else 1


def _deform_grid(offsets: Tensor, h: int, w: int) -> Tensor:
    """Sampling points of a 3x3, padding-1 deformable conv as a ``grid_sample`` grid (align_corners False).

    offsets ``[B, 18, h, w]`` -> ``[B, 9 * h, w, 2]`` normalised (x, y); tap k = 3 * i + j samples
    ``(y + i - 1 + dy_k, x + j - 1 + dx_k)``."""
    b = offsets.shape[0]
    off = offsets.view(b, 9, 2, h, w)
    taps = torch.arange(3, dtype=offsets.dtype, device=offsets.device) - 1
    ys = torch.arange(h, dtype=offsets.dtype, device=offsets.device)
    xs = torch.arange(w, dtype=offsets.dtype, device=offsets.device)
    py = off[:, :, 0] + (taps.repeat_interleave(3)[:, None] + ys[None])[None, :, :, None]  # [B, 9, h, w]
    px = off[:, :, 1] + (taps.repeat(3)[:, None] + xs[None])[None, :, None, :]
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)
    return grid.view(b, 9 * h, w, 2)


class DeformConvBlock(nn.Module):
    """3x3 deformable conv (DCNv1, one offset group) whose offsets come from a plain 3x3 conv of the input."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_offsets = nn.Conv2d(dim, 18, 3, padding=1)
        self.conv_deform = DeformConv3x3(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, h, w]`` -> ``[B, C, h, w]``."""
        return self.conv_deform(x, self.conv_offsets(x))


def conv_relu_gn(c_in: int, c_out: int, kernel: int, groups: int) -> nn.Sequential:
    """Conv (no bias) -> ReLU -> GroupNorm: the official helper block (note GN after the ReLU)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
        nn.ReLU(),
        nn.GroupNorm(groups, c_out),
    )


class DecoderLayer(nn.Module):
    """Updates the stride-8 pixel map: deformable-conv block, attention pixels -> descriptors, FFN.

    The attention has no output projection; keys/values are projected separately for fg and bg.
    Dropout (training) is applied to the raw logits, as in the official code.
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.self_attn_conv_substitute = nn.Sequential(DeformConvBlock(dim), nn.ReLU(), nn.GroupNorm(16, dim))
        self.k_proj_fg = nn.Linear(dim, dim)
        self.k_proj_bg = nn.Linear(dim, dim)
        self.v_proj_fg = nn.Linear(dim, dim)
        self.v_proj_bg = nn.Linear(dim, dim)
        # Declaration order = the official state-dict order.
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn = nn.Module()  # holds only q_proj: no key/value/output projection inside
        self.cross_attn.q_proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)
        self.drop = nn.Dropout(dropout)

    def attend(self, queries: Tensor, keys: Tensor, values: Tensor, key_bias: Tensor) -> Tensor:
        """queries ``[B, P, C]``, keys/values ``[B, K, C]``, key_bias ``[B, K]`` (0 / -inf) -> ``[B, P, C]``."""
        b, p, c = queries.shape
        d = c // self.heads
        q = queries.view(b, p, self.heads, d).transpose(1, 2)
        k = keys.view(b, -1, self.heads, d).transpose(1, 2)
        v = values.view(b, -1, self.heads, d).transpose(1, 2)
        bias = key_bias[:, None, None, :].to(q.dtype)
        if self.training and self.dropout > 0:
            logits = F.dropout(q @ k.transpose(-1, -2) / math.sqrt(d), self.dropout, True) + bias
            out = logits.softmax(-1) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return out.transpose(1, 2).reshape(b, p, c)

    def forward(
        self,
        g: Tensor,
        pos: Tensor,
        fg: Tensor,
        bg: Tensor,
        fg_embed: Tensor,
        bg_embed: Tensor,
        key_bias: Tensor,
    ) -> Tensor:
        """g ``[B, C, h, w]``; pos ``[1, h*w, C]``; fg ``[B, I*T, C]``, bg ``[B, Qb*T, C]`` with embeds of the
        same shape; key_bias ``[B, I*T + Qb*T]`` -> g ``[B, C, h, w]``."""
        return self.attend_descriptors(self.conv_block(g), pos, fg, bg, fg_embed, bg_embed, key_bias)

    def conv_block(self, g: Tensor) -> Tensor:
        """The layer's first half, ``g + deformable block(g)`` ``[B, C, h, w]``: it reads no descriptor, so
        in layer 0 it depends on the target frame alone (:meth:`Decoder.prelude` computes it once)."""
        return g + self.self_attn_conv_substitute(g)

    def attend_descriptors(
        self,
        g: Tensor,
        pos: Tensor,
        fg: Tensor,
        bg: Tensor,
        fg_embed: Tensor,
        bg_embed: Tensor,
        key_bias: Tensor,
    ) -> Tensor:
        """The layer's second half on the output of :meth:`conv_block` (same arguments as ``forward``):
        attention of the pixels to the descriptors, then the FFN."""
        b, c, h, w = g.shape
        x = g.flatten(2).transpose(1, 2).contiguous()  # [B, P, C]; contiguous: one copy, fused linears
        keys = torch.cat([self.k_proj_fg(fg + fg_embed), self.k_proj_bg(bg + bg_embed)], dim=1)
        values = torch.cat([self.v_proj_fg(fg), self.v_proj_bg(bg)], dim=1)
        out = self.attend(self.cross_attn.q_proj(x + pos), keys, values, key_bias)
        x = self.norm1(x + self.drop(out))
        x = self.norm2(x + self.drop(self.fc2(self.drop(F.relu(self.fc1(x))))))
        return x.transpose(1, 2).reshape(b, c, h, w)


@dataclass(frozen=True)
class DecoderPrelude:
    """The decoder's work that depends on the target frame's features alone, not on the descriptors.

    Training decodes the same frame several times per sample (one per cycle that visits it,
    hodor/train/cycles.py): computing this once per frame and reusing it gives the same values and
    gradients for less work. ``g0`` ``[B, C, h, w]``: layer 0's :meth:`DecoderLayer.conv_block` of the
    stride-8 features; ``pos`` ``[1, h*w, C]``: the pixel position terms; ``reduced4`` ``[B, C/4, H/4, W/4]``:
    ``conv_4x_reduce`` of the stride-4 features.
    """

    g0: Tensor
    pos: Tensor
    reduced4: Tensor


class Decoder(nn.Module):
    """Segments a target frame: ``num_layers`` layers at stride 8, upsampling to stride 4, mask logits.

    Output channels: ``[catch-all, bg_0 .. bg_{Qb-1}, fg_1 .. fg_I]`` at stride 4.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        num_layers: int,
        ffn_dim: int = 256,
        dropout: float = 0.1,
        pixel_pos_enc: bool = True,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.pixel_pos_enc = pixel_pos_enc
        layer = DecoderLayer(dim, heads, ffn_dim, dropout)
        self.attn_layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.conv_4x_reduce = conv_relu_gn(dim, dim // 4, 1, 8)
        self.conv_4x = conv_relu_gn(dim, dim, 3, 8)
        self.instance_query_proj = nn.Linear(dim, dim)
        self.bg_query_proj = nn.Linear(dim, dim)
        self.fmap_proj_4x = conv_relu_gn(dim, dim, 1, 8)  # unused; kept so official checkpoints load strictly
        self.catch_all_conv = nn.Sequential(
            nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False),
            nn.GroupNorm(8, dim // 2),
            nn.ReLU(),
            nn.Conv2d(dim // 2, 1, 1, bias=False),
        )

    def forward(
        self,
        feats4: Tensor,
        feats8: Tensor,
        fg: Tensor,
        bg: Tensor,
        fg_invalid: Tensor,
        bg_invalid: Tensor,
        fg_embed: Tensor,
        bg_embed: Tensor,
        prelude: DecoderPrelude | None = None,
    ) -> Tensor:
        """feats4 ``[B, C, H/4, W/4]``, feats8 ``[B, C, H/8, W/8]``; fg ``[B, I, T, C]``, bg ``[B, Qb, T, C]``;
        invalid bool ``[B, I, T]`` / ``[B, Qb, T]``; fg_embed ``[C]``, bg_embed ``[Qb, C]``; ``prelude``:
        :meth:`prelude` of these features, when the caller keeps it -> logits ``[B, 1 + Qb + I, H/4, W/4]``."""
        b, num_obj, t, c = fg.shape
        num_bg = bg.shape[1]
        if prelude is None:
            prelude = self.prelude(feats4, feats8)
        fg_keys = fg.reshape(b, num_obj * t, c)  # object-major: index i * T + t
        bg_keys = bg.reshape(b, num_bg * t, c)
        fg_pos = fg_embed.view(1, 1, c).expand(b, num_obj * t, c)
        bg_pos = bg_embed.view(1, num_bg, 1, c).expand(b, num_bg, t, c).reshape(b, num_bg * t, c)
        invalid = torch.cat([fg_invalid.reshape(b, -1), bg_invalid.reshape(b, -1)], dim=1)
        key_bias = torch.zeros(invalid.shape, dtype=feats8.dtype, device=feats8.device)
        key_bias = key_bias.masked_fill(invalid, float("-inf"))
        pos = prelude.pos
        g = self.attn_layers[0].attend_descriptors(
            prelude.g0, pos, fg_keys, bg_keys, fg_pos, bg_pos, key_bias
        )
        for layer in self.attn_layers[1:]:
            g = layer(g, pos, fg_keys, bg_keys, fg_pos, bg_pos, key_bias)
        emb = self.pixel_embedding(g, prelude.reduced4)
        return self.mask_logits(emb, fg, bg, fg_invalid, bg_invalid)

    def prelude(self, feats4: Tensor, feats8: Tensor) -> DecoderPrelude:
        """The descriptor-independent part of :meth:`forward` for a target frame (see DecoderPrelude)."""
        b, c, h, w = feats8.shape
        pos = torch.zeros(1, h * w, c, dtype=feats8.dtype, device=feats8.device)
        if self.pixel_pos_enc:
            pos = sine_position_encoding(h, w, c, feats8.device).flatten(1).t().unsqueeze(0).to(feats8.dtype)
        return DecoderPrelude(self.attn_layers[0].conv_block(feats8), pos, self.conv_4x_reduce(feats4))

    def pixel_embedding(self, g: Tensor, reduced: Tensor) -> Tensor:
        """Stride-8 map ``[B, C, h, w]`` + ``conv_4x_reduce`` of the stride-4 features ``[B, C/4, H/4, W/4]``
        -> pixel embedding E ``[B, C, H/4, W/4]``."""
        up = F.interpolate(g, size=reduced.shape[-2:], mode="bilinear", align_corners=False)
        up = torch.cat([up[:, : reduced.shape[1]] + reduced, up[:, reduced.shape[1] :]], dim=1)
        return self.conv_4x(up)

    def mask_logits(
        self, emb: Tensor, fg: Tensor, bg: Tensor, fg_invalid: Tensor, bg_invalid: Tensor
    ) -> Tensor:
        """Per descriptor and time step <proj descriptor, E> / sqrt(C), invalid -> -inf, max over T."""
        scale = 1.0 / math.sqrt(self.dim)
        desc = torch.cat([self.bg_query_proj(bg), self.instance_query_proj(fg)], dim=1)  # [B, Qb+I, T, C]
        logits = torch.einsum("bntc,bchw->bnthw", desc, emb) * scale
        invalid = torch.cat([bg_invalid, fg_invalid], dim=1)[..., None, None]
        logits = logits.masked_fill(invalid, float("-inf")).amax(dim=2)
        return torch.cat([self.catch_all_conv(emb), logits], dim=1)
