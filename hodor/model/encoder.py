"""Encoder ("FM->Q"): frame features + soft masks -> object and background descriptors (§4, §5)."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from hodor.model.attention import SoftMaskedAttention, sine_position_encoding


class EncoderLayer(nn.Module):
    """Post-norm layer: descriptor self-attention, soft-masked cross-attention to pixels, FFN."""

    def __init__(
        self, dim: int, heads: int, ffn_dim: int, dropout: float, init_scales: tuple[float, ...]
    ) -> None:
        super().__init__()
        # Declaration order = the official state-dict order (norm before each sub-block's parameters).
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = SoftMaskedAttention(dim, heads, dropout, init_scales)
        self.norm3 = nn.LayerNorm(dim)
        # Indices 0 and 3 are the official state-dict names (ffn.0, ffn.3).
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_dim, dim),
            nn.Dropout(dropout),
        )
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, pos: Tensor, pixels: Tensor, pixel_keys: Tensor, masks: Tensor) -> Tensor:
        """x, pos ``[B, N, C]``; pixels, pixel_keys ``[B, P, C]``; masks ``[B, N, P]`` -> ``[B, N, C]``."""
        q = x + pos
        x = self.norm1(x + self.drop1(self.self_attn(q, q, x, need_weights=False)[0]))
        x = self.norm2(x + self.drop2(self.cross_attn(x, pixel_keys, pixels, masks)))
        return self.norm3(x + self.ffn(x))


class Encoder(nn.Module):
    """Pool initial descriptors from soft masks (no grad), then refine them with ``num_layers`` layers.

    ``fg_query_embed [C]`` (shared by all objects) and ``bg_query_embed [Qb, C]`` are the descriptors'
    position terms, also used by the decoder as key position terms.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        num_layers: int,
        num_bg: int,
        ffn_dim: int = 1024,
        dropout: float = 0.1,
        init_scales: tuple[float, ...] = (),
        pixel_pos_enc: bool = False,
    ) -> None:
        super().__init__()
        self.pixel_pos_enc = pixel_pos_enc
        self.fg_query_embed = nn.Parameter(torch.randn(dim))
        self.bg_query_embed = nn.Parameter(torch.randn(num_bg, dim))
        layer = EncoderLayer(dim, heads, ffn_dim, dropout, init_scales)
        # Deep copies of one layer, as in the official code (identical weights at construction).
        self.attn_layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])

    def forward(self, feats8: Tensor, fg_masks: Tensor, bg_masks: Tensor) -> tuple[Tensor, Tensor]:
        """feats8 ``[B, C, h, w]``, fg_masks ``[B, I, h, w]``, bg_masks ``[B, Qb, h, w]`` in [0, 1]
        -> fg descriptors ``[B, I, C]``, bg descriptors ``[B, Qb, C]``."""
        b, c, h, w = feats8.shape
        num_bg, num_obj = bg_masks.shape[1], fg_masks.shape[1]
        fg0, bg0 = pool_initial_descriptors(feats8, fg_masks, bg_masks)
        x = torch.cat([bg0, fg0], dim=1)  # background first (official token order)
        pos = torch.cat([self.bg_query_embed, self.fg_query_embed.expand(num_obj, c)], dim=0)
        pos = pos.unsqueeze(0).expand(b, -1, -1)
        masks = torch.cat([bg_masks, fg_masks], dim=1).flatten(2).to(feats8.dtype)
        # Contiguous once: each layer's key/value projections then run as one fused matmul + bias (addmm);
        # on the transposed view they were a matmul plus a separate bias add (10% of the encoder's time).
        pixels = feats8.flatten(2).transpose(1, 2).contiguous()
        keys = pixels
        if self.pixel_pos_enc:
            pe = sine_position_encoding(h, w, c, device=feats8.device).to(feats8.dtype)
            keys = pixels + pe.flatten(1).t().unsqueeze(0)
        for layer in self.attn_layers:
            x = layer(x, pos, pixels, keys, masks)
        return x[:, num_bg:], x[:, :num_bg]


@torch.no_grad()
def pool_initial_descriptors(feats8: Tensor, fg_masks: Tensor, bg_masks: Tensor) -> tuple[Tensor, Tensor]:
    """Mean feature over pixels with mask > 0.5 (§4), under no_grad.

    An object with no such pixel takes the feature at its mask's first arg-max; a background patch with no
    such pixel gets a zero vector. Returns fg ``[B, I, C]`` and bg ``[B, Qb, C]``.
    """
    flat = feats8.flatten(2).float()  # [B, C, P]

    def pool(masks: Tensor, argmax_fallback: bool) -> Tensor:
        m = masks.flatten(2).float()
        sel = (m > 0.5).float()
        count = sel.sum(-1, keepdim=True)
        if argmax_fallback:
            one_hot = torch.zeros_like(m).scatter_(-1, m.argmax(-1, keepdim=True), 1.0)
            sel = torch.where(count > 0, sel, one_hot)
            count = count.clamp(min=1.0)
        pooled = torch.einsum("bnp,bcp->bnc", sel, flat)
        return (pooled / count.clamp(min=1.0)).to(feats8.dtype)

    return pool(fg_masks, True), pool(bg_masks, False)
