"""Attention building blocks: soft-masked attention (encoder) and the sine pixel position encoding."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SoftMaskedAttention(nn.Module):
    """Multi-head attention of N queries over P pixels, biased by soft masks (hodor-model.md §5.1).

    ``logit[h, n, p] = q_h[n] . k_h[p] / sqrt(d) - s_h * (1 - m[n, p])`` with one learnable scale ``s_h`` per
    head. The mask term is passed to ``F.scaled_dot_product_attention`` as an additive float mask so the
    fused kernels do the softmax; gradients reach both ``scaling_factors`` and the mask.
    """

    def __init__(
        self, dim: int, heads: int, dropout: float = 0.1, init_scales: tuple[float, ...] = ()
    ) -> None:
        super().__init__()
        if len(init_scales) != heads:
            raise ValueError(f"init_scales needs one value per head ({heads}), got {len(init_scales)}")
        self.heads = heads
        self.dropout = dropout
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.scaling_factors = nn.Parameter(torch.tensor(init_scales, dtype=torch.float32))

    def mask_bias(self, soft_mask: Tensor) -> Tensor:
        """``[B, N, P]`` soft mask in [0, 1] -> additive bias ``[B, heads, N, P]`` = ``-s_h * (1 - m)``."""
        return -(self.scaling_factors.view(1, -1, 1, 1) * (1.0 - soft_mask).unsqueeze(1))

    def split_heads(self, x: Tensor) -> Tensor:
        """``[B, L, C]`` -> ``[B, heads, L, C / heads]``."""
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, soft_mask: Tensor) -> Tensor:
        """query ``[B, N, C]``, key/value ``[B, P, C]``, soft_mask ``[B, N, P]`` -> ``[B, N, C]``.

        Inference (no gradient recorded, no dropout) takes :meth:`forward_folded`; training keeps the
        official order, where every parameter gets its gradient (the folded form has none for the key
        bias, whose term the softmax removes)."""
        if torch.is_grad_enabled() or (self.training and self.dropout > 0):
            return self.forward_projected(query, key, value, soft_mask)
        return self.forward_folded(query, key, value, soft_mask)

    def forward_projected(self, query: Tensor, key: Tensor, value: Tensor, soft_mask: Tensor) -> Tensor:
        """The official order: project all P keys and values, then attend (arguments as :meth:`forward`)."""
        q = self.split_heads(self.q_proj(query))
        k = self.split_heads(self.k_proj(key))
        v = self.split_heads(self.v_proj(value))
        bias = self.mask_bias(soft_mask).to(q.dtype)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def forward_folded(self, query: Tensor, key: Tensor, value: Tensor, soft_mask: Tensor) -> Tensor:
        """The same attention with the key and value projections moved from the P pixels to the N queries.

        Why: the encoder has N = Qb + I (about 12) queries and P = h * w (6480 at 480p) pixels; projecting
        every pixel twice per layer (2 P C^2 multiply-adds) cost more than the attention itself. Per head h
        (rows ``W_h`` of a projection, d = C / heads):
        ``q_h . (Wk_h k + bk_h) = (Wk_h^T q_h) . k + q_h . bk_h``, and the last term is the same for every
        pixel, so the softmax removes it; ``sum_p a_p (Wv_h v_p + bv_h) = Wv_h (sum_p a_p v_p) + bv_h``
        because the weights a_p sum to 1 (true without dropout only).
        Cost ``2 heads N P C`` instead of ``2 P C^2 + 2 N P C``; values equal up to rounding (tested against
        :meth:`forward_naive`). Shapes as :meth:`forward`."""
        b, n, c = query.shape
        h, d = self.heads, c // self.heads
        q = self.split_heads(self.q_proj(query))  # [B, h, N, d]
        q_keys = torch.einsum("bhnd,hdc->bhnc", q, self.k_proj.weight.view(h, d, c))  # [B, h, N, C]
        bias = self.mask_bias(soft_mask).to(q.dtype).reshape(b, 1, h * n, -1)  # [B, 1, h N, P]
        mixed = F.scaled_dot_product_attention(
            q_keys.reshape(b, 1, h * n, c), key[:, None], value[:, None], attn_mask=bias, scale=d**-0.5
        )  # [B, 1, h N, C]: per head and query, the attention-weighted mean of the unprojected values
        out = torch.einsum("bhnc,hdc->bnhd", mixed.view(b, h, n, c), self.v_proj.weight.view(h, d, c))
        return self.out_proj(out.reshape(b, n, c) + self.v_proj.bias)

    def forward_naive(self, query: Tensor, key: Tensor, value: Tensor, soft_mask: Tensor) -> Tensor:
        """Reference implementation with an explicit softmax (tests and the benchmark; no dropout)."""
        q = self.split_heads(self.q_proj(query))
        k = self.split_heads(self.k_proj(key))
        v = self.split_heads(self.v_proj(value))
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + self.mask_bias(soft_mask)
        out = logits.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).flatten(2))


@torch.no_grad()
def sine_position_encoding(h: int, w: int, dim: int, device: torch.device | None = None) -> Tensor:
    """DETR-style 2-D sine encoding ``[dim, h, w]`` of an h x w map (hodor-model.md §8).

    Channels ``[y-part (dim/2), x-part (dim/2)]``, each alternating sin (even) / cos (odd) over
    ``dim / 2`` frequencies ``10000 ** (2 * (i // 2) / (dim / 2))``; positions normalised to (0, 2 pi].
    """
    feats = dim // 2
    eps = 1e-6
    y = torch.arange(1, h + 1, dtype=torch.float32, device=device) / (h + eps) * 2 * math.pi
    x = torch.arange(1, w + 1, dtype=torch.float32, device=device) / (w + eps) * 2 * math.pi
    i = torch.arange(feats, dtype=torch.float32, device=device)
    dim_t = 10000 ** (2 * torch.div(i, 2, rounding_mode="floor") / feats)

    def encode(pos: Tensor) -> Tensor:  # [L] -> [feats, L]
        ang = pos[None, :] / dim_t[:, None]
        return torch.where((i % 2 == 0)[:, None], ang.sin(), ang.cos())

    pos_y = encode(y)[:, :, None].expand(feats, h, w)
    pos_x = encode(x)[:, None, :].expand(feats, h, w)
    return torch.cat([pos_y, pos_x], dim=0)
