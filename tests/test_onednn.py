"""Inference-only fast paths of the model (issue 14): oneDNN linears and the folded encoder attention.

Each gives the plain computation's values (up to summation order) and leaves training on the plain path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hodor.model import ModelParams, build_model
from hodor.model.attention import SoftMaskedAttention
from hodor.model.onednn import (
    OneDNNLinear,
    OneDNNLinearGELU,
    fuse_mlp_gelu,
    linear,
    onednn_applies,
    use_onednn_linears,
)


@pytest.mark.parametrize("gelu", [False, True])
def test_linear_equals_f_linear_on_both_paths(gelu: bool) -> None:
    """3-D and transposed (non-contiguous) inputs, with and without bias: the oneDNN path under
    inference_mode and the autograd path give F.linear (+ GELU)'s values."""
    torch.manual_seed(0)
    w, b = torch.randn(24, 40), torch.randn(24)
    for x in (torch.randn(3, 50, 40), torch.randn(40, 33).t()):
        for bias in (b, None):
            ref = F.linear(x, w, bias)
            ref = F.gelu(ref) if gelu else ref
            with torch.inference_mode():
                assert onednn_applies(x, w) == torch.backends.mkldnn.is_available()
                fast = linear(x, w, bias, gelu=gelu)
            torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
            slow = linear(x.clone().requires_grad_(), w, bias, gelu=gelu)
            assert slow.grad_fn is not None  # the gradient path: F.linear, differentiable
            torch.testing.assert_close(slow.detach(), ref, rtol=1e-6, atol=1e-6)


def test_onednn_path_is_skipped_where_it_cannot_apply() -> None:
    x, w = torch.randn(4, 8), torch.randn(5, 8)
    with torch.inference_mode():
        assert not onednn_applies(x.double(), w.double())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not onednn_applies(x, w)
    assert not onednn_applies(x, w.requires_grad_())  # training: a gradient is wanted


def test_model_linears_converted_with_the_same_state_dict() -> None:
    """Every plain Linear of the model (Swin, encoder, decoder) becomes OneDNNLinear, Swin's MLP fc1
    carries the GELU; the state dict keeps its keys, and a block's MLP output is unchanged."""
    torch.manual_seed(1)
    model = build_model(ModelParams(variant="paper"))
    kinds = [type(m) for m in model.modules()]
    assert nn.Linear not in kinds
    assert kinds.count(OneDNNLinearGELU) == 12  # Swin-T: 2 + 2 + 6 + 2 blocks
    assert not any(isinstance(m, nn.GELU) for m in model.feature_extractor.backbone.modules())
    mlp = model.feature_extractor.backbone.layers[0].blocks[0].mlp
    plain = nn.Sequential(nn.Linear(96, 384), nn.GELU(), nn.Linear(384, 96))
    plain.load_state_dict({"0.weight": mlp.fc1.weight, "0.bias": mlp.fc1.bias,
                           "2.weight": mlp.fc2.weight, "2.bias": mlp.fc2.bias})  # fmt: skip
    x = torch.randn(2, 9, 11, 96)
    with torch.inference_mode():
        torch.testing.assert_close(mlp(x), plain(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mlp(x), plain(x), rtol=1e-6, atol=1e-6)  # autograd path
    fresh = build_model(ModelParams(variant="paper"))
    assert list(fresh.state_dict()) == list(model.state_dict())


def test_use_onednn_linears_leaves_subclasses_alone() -> None:
    mha = nn.MultiheadAttention(16, 2, batch_first=True)
    seq = nn.Sequential(nn.Linear(16, 16), mha)
    assert use_onednn_linears(seq) == 1
    assert type(seq[0]) is OneDNNLinear and type(mha.out_proj) is not OneDNNLinear
    assert not fuse_mlp_gelu(nn.Sequential(nn.Linear(4, 4)))  # nothing to fuse: unchanged


def test_folded_encoder_attention_equals_projected_and_naive() -> None:
    """Key/value projections moved onto the queries (no dropout): same values as projecting every pixel
    and as the explicit softmax; training with dropout keeps the projected order."""
    torch.manual_seed(2)
    attn = SoftMaskedAttention(64, 8, dropout=0.1, init_scales=(32, 32, 16, 16, 8, 8, 4, 4)).eval()
    for lin in (attn.k_proj, attn.v_proj):  # biases well away from 0: their terms are checked
        nn.init.uniform_(lin.bias, 1.0, 2.0)
    x, pix = torch.randn(2, 5, 64), torch.randn(2, 300, 64)
    mask = torch.rand(2, 5, 300)
    with torch.no_grad():
        folded = attn(x, pix, pix, mask)
        torch.testing.assert_close(folded, attn.forward_projected(x, pix, pix, mask), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(folded, attn.forward_naive(x, pix, pix, mask), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(folded, attn.forward_folded(x, pix, pix, mask), rtol=0, atol=0)
    attn.train()  # training (dropout, gradients): the projected order
    torch.manual_seed(3)
    train_out = attn(x, pix, pix, mask)
    torch.manual_seed(3)
    torch.testing.assert_close(train_out, attn.forward_projected(x, pix, pix, mask), rtol=0, atol=0)
    train_out.sum().backward()
    assert attn.k_proj.bias.grad is not None
