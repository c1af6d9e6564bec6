"""The HODOR network: variants, shapes, gradients, edge cases and input errors (quick variant, tiny sizes)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from hodor.config import ParamsError, from_dict, to_dict
from hodor.errors import InputError
from hodor.model import MODEL_VARIANTS, Hodor, ModelParams, build_model
from hodor.model.attention import SoftMaskedAttention
from hodor.model.masks import encoder_masks_from_masks, encoder_masks_from_probs
from hodor.model.swin import SwinBackbone

H, W = 64, 96  # smallest multiple-of-32 sizes that keep every stride meaningful


@pytest.fixture(scope="module")
def quick() -> Hodor:
    torch.manual_seed(0)
    return build_model(ModelParams(variant="quick")).eval()


def boxes(b: int, num_obj: int, h: int = H, w: int = W) -> torch.Tensor:
    """``[b, num_obj, h, w]`` 0/1 masks, one box per object."""
    m = torch.zeros(b, num_obj, h, w)
    for i in range(num_obj):
        m[:, i, 8 + 4 * i : 40 + 4 * i, 10 + 20 * i : 40 + 20 * i] = 1
    return m


def run_once(model: Hodor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    feats = model.extract_features(images)
    fg8, bg8 = encoder_masks_from_masks(masks, model.num_bg)
    fg, bg = model.encode_descriptors(feats[8], fg8, bg8)
    return model.decode_masks(feats, fg[:, :, None], bg[:, :, None])


def test_variants_and_params() -> None:
    assert set(MODEL_VARIANTS) == {"paper", "quick"}
    assert ModelParams(variant="quick").resolved() == MODEL_VARIANTS["quick"]
    assert MODEL_VARIANTS["paper"].dim == 256 and MODEL_VARIANTS["paper"].encoder_layers == 5
    with pytest.raises(ValueError, match="valid: \\['paper', 'quick'\\]"):
        ModelParams(variant="tiny")
    with pytest.raises(ValueError, match="not divisible by heads"):
        ModelParams(variant="quick", dim=96, heads=5, mask_scale_init=(1.0,) * 5)
    with pytest.raises(ValueError, match="does not fit variant"):
        ModelParams(variant="paper", backbone="resnet18")
    # params.yaml round trip through the strict loader (every key present, nulls = variant default).
    data = to_dict(ModelParams(variant="quick", dim=96))
    assert from_dict(ModelParams, data) == ModelParams(variant="quick", dim=96)
    with pytest.raises(ParamsError, match="num_bg must be one of"):
        from_dict(ModelParams, {**data, "num_bg": 7}, source="params.yaml [model]")


def test_paper_parameter_count_matches_official() -> None:
    model = build_model(MODEL_VARIANTS["paper"])
    assert sum(p.numel() for p in model.parameters()) == 42_091_068
    assert model.dim == 256 and model.num_bg == 9


def test_shapes_batch_and_time(quick: Hodor) -> None:
    torch.manual_seed(1)
    images = torch.randn(2, 3, H, W)
    with torch.no_grad():
        feats = quick.extract_features(images)
        assert {s: tuple(f.shape) for s, f in feats.items() if s in (4, 8)} == {
            4: (2, 64, H // 4, W // 4),
            8: (2, 64, H // 8, W // 8),
        }
        fg8, bg8 = encoder_masks_from_masks(boxes(2, 3), quick.num_bg)
        fg, bg = quick.encode_descriptors(feats[8], fg8, bg8)
        assert fg.shape == (2, 3, 64) and bg.shape == (2, 9, 64)
        hist_fg = torch.stack([fg, fg.flip(0)], dim=2)
        hist_bg = torch.stack([bg, bg.flip(0)], dim=2)
        logits = quick.decode_masks(feats, hist_fg, hist_bg)
        assert logits.shape == (2, 1 + 9 + 3, H // 4, W // 4)
        assert torch.isfinite(logits).all()
        # Batch items are independent.
        single = quick.decode_masks({s: f[1:] for s, f in feats.items()}, hist_fg[1:], hist_bg[1:])
        torch.testing.assert_close(single, logits[1:], atol=1e-4, rtol=1e-4)


def test_invalid_history_entries_are_ignored(quick: Hodor) -> None:
    """T=2 with every entry of step 1 invalid == T=1 with step 0 only (invalid keys get -inf)."""
    torch.manual_seed(2)
    feats = quick.extract_features(torch.randn(1, 3, H, W))
    fg = torch.randn(1, 2, 2, 64)
    bg = torch.randn(1, 9, 2, 64)
    fg_inv = torch.tensor([[[False, True], [False, True]]])
    bg_inv = torch.zeros(1, 9, 2, dtype=torch.bool)
    bg_inv[..., 1] = True
    with torch.no_grad():
        two = quick.decode_masks(feats, fg, bg, fg_inv, bg_inv)
        one = quick.decode_masks(feats, fg[:, :, :1], bg[:, :, :1])
    torch.testing.assert_close(two, one, atol=1e-5, rtol=1e-5)


def test_zero_and_vanishing_object(quick: Hodor) -> None:
    torch.manual_seed(3)
    images = torch.randn(1, 3, H, W)
    masks = boxes(1, 2)
    masks[:, 1] = 0  # vanished object: descriptor falls back to the arg-max pixel
    masks[:, 0, 30:32, 30:32] = 1  # tiny second blob does not matter
    with torch.no_grad():
        logits = run_once(quick, images, masks)
    assert torch.isfinite(logits).all()
    # All-zero input image and masks: still finite.
    with torch.no_grad():
        logits = run_once(quick, torch.zeros(1, 3, H, W), torch.zeros(1, 1, H, W))
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("variant", ["quick", "paper"])
def test_every_parameter_gets_a_gradient_and_so_do_masks_and_scales(variant: str) -> None:
    torch.manual_seed(4)
    model = build_model(ModelParams(variant=variant, dropout=0.0)).train()
    images = torch.randn(2, 3, H, W)
    feats = model.extract_features(images)
    fg8, bg8 = encoder_masks_from_masks(boxes(2, 2), model.num_bg)
    fg8.requires_grad_(True)
    bg8.requires_grad_(True)
    fg, bg = model.encode_descriptors(feats[8], fg8, bg8)
    logits = model.decode_masks(feats, fg[:, :, None], bg[:, :, None])
    logits.square().mean().backward()
    # Unused by design (official): strides 16/32 leave the FPN only through its top-down path.
    unused = (
        "decoder.fmap_proj_4x.",
        "feature_extractor.norm_layers.2.",
        "feature_extractor.norm_layers.3.",
        "feature_extractor.norm_layers.4.",
        "feature_extractor.fpn.output.2.",
        "feature_extractor.fpn.output.3.",
    )
    for name, p in model.named_parameters():
        if name.startswith(unused):
            assert p.grad is None, f"{name} unexpectedly used"
        else:
            assert p.grad is not None, f"no gradient reaches {name}"
            # timm's ResNet zero-inits each block's last BN gamma, so inside residual branches the
            # gradient is exactly zero at init; everywhere else it must be non-zero.
            if not name.startswith("feature_extractor.backbone.body.layer"):
                assert p.grad.abs().sum() > 0, f"zero gradient at {name}"
    for layer in model.encoder.attn_layers:
        assert layer.cross_attn.scaling_factors.grad.abs().sum() > 0
    assert fg8.grad is not None and fg8.grad.abs().sum() > 0
    assert bg8.grad is not None and bg8.grad.abs().sum() > 0


def test_soft_masked_attention_equals_explicit_softmax() -> None:
    torch.manual_seed(5)
    attn = SoftMaskedAttention(64, 8, dropout=0.0, init_scales=(32, 32, 16, 16, 8, 8, 4, 4)).eval()
    x, pix = torch.randn(2, 5, 64), torch.randn(2, 30, 64)
    mask = torch.rand(2, 5, 30, requires_grad=True)
    fused = attn(x, pix, pix, mask)
    naive = attn.forward_naive(x, pix, pix, mask)
    torch.testing.assert_close(fused, naive, atol=1e-5, rtol=1e-5)
    g_fused = torch.autograd.grad(fused.sum(), [mask, attn.scaling_factors])
    g_naive = torch.autograd.grad(naive.sum(), [mask, attn.scaling_factors])
    for a, b in zip(g_fused, g_naive, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_swin_backbone_odd_input_size() -> None:
    torch.manual_seed(6)
    swin = SwinBackbone(drop_path=0.0).eval()
    with torch.no_grad():
        outs = swin(torch.randn(1, 3, 65, 97))
    assert [tuple(o.shape) for o in outs] == [
        (1, 96, 17, 25),
        (1, 192, 9, 13),
        (1, 384, 5, 7),
        (1, 768, 3, 4),
    ]
    assert all(torch.isfinite(o).all() for o in outs)


def test_input_errors(quick: Hodor) -> None:
    feats = quick.extract_features(torch.randn(1, 3, H, W))
    fg8, bg8 = encoder_masks_from_masks(boxes(1, 2), quick.num_bg)
    with pytest.raises(InputError, match="multiple of 32"):
        quick.extract_features(torch.randn(1, 3, 65, 97))
    with pytest.raises(InputError, match="stride-8 size"):  # masks at the wrong (full) resolution
        quick.encode_descriptors(feats[8], boxes(1, 2), bg8)
    with pytest.raises(InputError, match="no objects"):
        quick.encode_descriptors(feats[8], fg8[:, :0], bg8)
    too_many = quick.max_objects + 1
    with pytest.raises(InputError, match="more than model.max_objects"):
        quick.encode_descriptors(feats[8], fg8[:, :1].expand(1, too_many, -1, -1), bg8)
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        quick.encode_descriptors(feats[8], fg8 * 3, bg8)
    fg, bg = quick.encode_descriptors(feats[8], fg8, bg8)
    with pytest.raises(InputError, match="no objects"):
        quick.decode_masks(feats, fg[:, :0, None], bg[:, :, None])
    with pytest.raises(InputError, match="no valid time step"):
        quick.decode_masks(feats, fg[:, :, None], bg[:, :, None], torch.ones(1, 2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="multiple of 8"):
        encoder_masks_from_masks(torch.zeros(1, 1, 65, 97))


def test_params_override_builds_smaller_model() -> None:
    p = dataclasses.replace(MODEL_VARIANTS["quick"], dim=32, encoder_layers=1, decoder_layers=1)
    model = build_model(p)
    assert model.dim == 32 and len(model.encoder.attn_layers) == 1 and len(model.decoder.attn_layers) == 1
    with torch.no_grad():
        logits = run_once(model.eval(), torch.randn(1, 3, H, W), boxes(1, 1))
    assert logits.shape == (1, 11, H // 4, W // 4)


def test_mask_helpers_from_probs_sum_to_one() -> None:
    probs = torch.rand(1, 2, 5, 7)
    probs = probs / probs.sum(1, keepdim=True) * 0.8
    fg, bg = encoder_masks_from_probs(probs, 9)
    assert fg is probs
    torch.testing.assert_close(fg.sum(1) + bg.sum(1), torch.ones(1, 5, 7))


def test_bf16_autocast_on_cpu(quick: Hodor) -> None:
    torch.manual_seed(7)
    images, masks = torch.randn(1, 3, H, W), boxes(1, 2)
    with torch.no_grad():
        ref = run_once(quick, images, masks)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = run_once(quick, images, masks)
    assert low.shape == ref.shape and torch.isfinite(low).all()
    assert (low.float() - ref).abs().max() < 0.1 * ref.abs().max()


QUICK_YAML = """
model:
  variant: quick
  backbone: resnet18
  dim: 64
  encoder_layers: 2
  decoder_layers: 2
  heads: 8
  num_bg: 9
  encoder_ffn: 256
  decoder_ffn: 64
  dropout: 0.1
  drop_path: 0.0
  pos_enc_encoder: false
  pos_enc_decoder: true
  mask_scale_init: [32, 32, 16, 16, 8, 8, 4, 4]
  max_objects: 16
"""


def test_params_yaml_section(tmp_path) -> None:
    from hodor.config import load_section

    path = tmp_path / "params.yaml"
    path.write_text(QUICK_YAML)
    assert load_section(ModelParams, path, "model") == MODEL_VARIANTS["quick"]
    path.write_text(QUICK_YAML.replace("heads: 8", "heads: 3"))
    with pytest.raises(ParamsError, match="params.yaml"):
        load_section(ModelParams, path, "model")


def test_deform_conv_matches_torchvision_values_and_gradients() -> None:
    """Our grid_sample deformable conv = torchvision's DCNv1 op, offsets reaching outside the map included."""
    from torchvision.ops import deform_conv2d

    from hodor.model.decoder import DeformConv3x3

    torch.manual_seed(0)
    conv = DeformConv3x3(8, 6)
    x = torch.randn(2, 8, 7, 9, requires_grad=True)
    offsets = (3.0 * torch.randn(2, 18, 7, 9)).requires_grad_()  # many taps fall off the 7x9 map
    ours = conv(x, offsets)
    ref = deform_conv2d(x, offsets, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(ref)
    inputs = [x, offsets, conv.weight, conv.bias]
    for name, a, b in zip(
        ["x", "offsets", "weight", "bias"],
        torch.autograd.grad((ours * weights).sum(), inputs),
        torch.autograd.grad((ref * weights).sum(), inputs),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=f"gradient of {name}")


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_deform_sampling_split_over_threads_is_bit_identical(threads: int) -> None:
    """The channel groups that let several threads sample give the plain grid_sample's values bit for bit
    (batch 1, C = 6: groups 2, 3 and 6) and its gradients up to summation order."""
    from hodor.model.decoder import _channel_groups, _deform_grid, _sample_taps

    torch.manual_seed(0)
    x = torch.randn(1, 6, 5, 7, requires_grad=True)
    offsets = (2.0 * torch.randn(1, 18, 5, 7)).requires_grad_()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert _channel_groups(1, 6) == {2: 2, 3: 3, 4: 6}[threads]
        grid = _deform_grid(offsets, 5, 7)
        ours = _sample_taps(x, grid)
        ref = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(ours, ref)
    weights = torch.randn_like(ref)
    for a, b in zip(
        torch.autograd.grad((ours * weights).sum(), [x, offsets], retain_graph=True),
        torch.autograd.grad((ref * weights).sum(), [x, offsets]),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_decoding_with_a_kept_prelude_is_bit_identical(quick: Hodor) -> None:
    """The frame-only part of the decoder, computed once and passed to several decodes of that frame (the
    training cycles), gives the logits of a decode that computes it itself, bit for bit."""
    torch.manual_seed(0)
    feats = quick.extract_features(torch.randn(1, 3, H, W))
    prelude = quick.decoder_prelude(feats)
    for t in (1, 3):
        fg, bg = torch.randn(1, 2, t, quick.dim), torch.randn(1, quick.num_bg, t, quick.dim)
        alone = quick.decode_masks(feats, fg, bg)
        assert torch.equal(quick.decode_masks(feats, fg, bg, prelude=prelude), alone)


@pytest.mark.parametrize(("h", "w"), [(14, 21), (9, 16), (3, 5)])
@pytest.mark.parametrize("shift", [0, 3])
def test_swin_window_gather_equals_pad_roll_partition(h: int, w: int, shift: int) -> None:
    """The gathered window step = the official pad, roll, partition, reverse, roll, crop: values bit for bit
    (multiples of the window, padded maps, a map smaller than one window), gradients to rounding."""
    from hodor.model.swin import OfficialPadSwinBlock

    torch.manual_seed(0)
    block = OfficialPadSwinBlock(dim=8, input_resolution=(7, 7), num_heads=2, window_size=7,
                                 shift_size=shift, always_partition=True, dynamic_mask=True)  # fmt: skip
    x = torch.randn(2, h, w, 8, requires_grad=True)
    ours, ref = block._attn(x), block._attn_reference(x)
    assert torch.equal(ours, ref)
    weights = torch.randn_like(ref)
    (g_ours,) = torch.autograd.grad((ours * weights).sum(), [x])
    (g_ref,) = torch.autograd.grad((ref * weights).sum(), [x])
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-6)


def test_extract_features_for_the_used_strides_equals_the_full_pyramid(quick: Hodor) -> None:
    from hodor.model.hodor import USED_STRIDES

    images = torch.randn(2, 3, H, W)
    full = quick.extract_features(images)
    used = quick.extract_features(images, USED_STRIDES)
    assert sorted(full) == [4, 8, 16, 32] and sorted(used) == list(USED_STRIDES)
    for s in USED_STRIDES:
        assert torch.equal(used[s], full[s]), s
    with pytest.raises(ValueError, match="strides"):
        quick.extract_features(images, (4, 64))
