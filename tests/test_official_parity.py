"""Parity with the official HODOR code on every ``case_*.pt`` of the fixture directory.

The fixture directory is ``$HODOR_PARITY_FIXTURE`` (default ``<repo>/../shared/fixtures/hodor-parity``); its
README says what each case holds. Weights: the README's rule on the official names, loaded through
``hodor.model.checkpoint``'s key mapping into our paper variant (tests/parity_utils.py).

* pathA (model): features, descriptors, decoder logits (T=1 and T=2 with a missing descriptor), soft masks,
  to ``1e-4 * max(1, max|official|)`` (fp32, CPU). Max abs diffs measured on case_192x320 (torch 2.14.1,
  CPU, a heavily shared 2-core machine; bounds ~3e-4 to 4.5e-4): fmaps 1.3e-5 / 1.1e-5 / 7.6e-6 / 4.3e-6
  (strides 4/8/16/32), initial descriptors <= 1.1e-6, encoder outputs <= 2.0e-6, dec1_logits 1.1e-5,
  dec2_logits 1.2e-5 (deformable conv as grid_sample + matmul), stride-8 probabilities and encoder masks 0.
* pathB / pathB_tw1 (inference loop, temporal windows 7 and 1, a late object): labels identical.
* pathC (training forward over all cycles): per-prediction ground truth, frame order, dice and CE to
  relative 1e-5.
* pathD (resize, normalisation, padding): tensors to 1e-4, the resized reference mask identical (the raw
  mask or box from the case; for cases that store neither, the box read from the fixture's README).

Every path takes the frames its own tensors cover (a case may hold more frames than a path uses).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from parity_utils import (
    CASE_PATHS,
    FIXTURE_DIR,
    assert_close_official,
    load_case,
    official_state_dict,
    paper_model_with_official_weights,
    requires_fixture,
)

from hodor.data.image_ops import pad_to_multiple, preprocess_frames, resize_mask, resized_dims
from hodor.infer.segmenter import VideoSegmenter
from hodor.model.checkpoint import official_to_ours, ours_to_official
from hodor.model.encoder import pool_initial_descriptors
from hodor.model.masks import encoder_masks_from_masks, encoder_masks_from_probs
from hodor.train.cycles import drop_vanished_objects, run_cycles
from hodor.train.losses import cross_entropy_loss, multiclass_dice_loss

pytestmark = requires_fixture
IDS = [p.stem for p in CASE_PATHS]


def probs_to_stride8(logits4: torch.Tensor) -> torch.Tensor:
    """Inference path (hodor-model.md §7): softmax at stride 4, bilinear x4, then bilinear 1/8."""
    probs = logits4.softmax(dim=1)
    full = F.interpolate(probs, scale_factor=4.0, mode="bilinear", align_corners=False)
    return F.interpolate(
        full, scale_factor=0.125, mode="bilinear", align_corners=False, recompute_scale_factor=False
    )


def test_official_state_dict_maps_both_ways_without_leftovers() -> None:
    official = official_state_dict()
    assert len(official) == 469
    ours = official_to_ours(official)
    model = paper_model_with_official_weights()
    assert set(ours) == set(model.state_dict())
    assert sum(p.numel() for p in model.parameters()) == 42_091_068
    back = ours_to_official(ours)
    assert list(back) == list(official)  # same names, same order
    assert list(ours_to_official(model.state_dict())) == list(official)  # export from a model: same order
    for key, value in official.items():
        assert back[key].dtype == value.dtype and torch.equal(back[key], value), key


@pytest.mark.parametrize("case_path", CASE_PATHS, ids=lambda p: p.stem)
def test_pathA_matches_official(case_path: Path) -> None:
    case = load_case(case_path)
    a = case["pathA"]
    frames = case["frames"]
    model = paper_model_with_official_weights()
    num_bg = model.num_bg
    with torch.no_grad():
        feats = [model.extract_features(frames[t : t + 1]) for t in range(3)]  # pathA reads frames 0-2
        for stride, ref in a["fmaps"].items():
            assert_close_official(feats[0][stride], ref, f"fmaps[{stride}]")

        fg8, bg8 = encoder_masks_from_masks(a["masks_fullres"][None].float(), num_bg)
        assert_close_official(
            torch.cat([bg8, fg8], 1), a["encoder_in_masks_frame0"], "encoder_in_masks_frame0"
        )
        fg_init, bg_init = pool_initial_descriptors(feats[0][8], fg8, bg8)
        assert_close_official(fg_init, a["enc0_fg_init"], "enc0_fg_init")
        assert_close_official(bg_init, a["enc0_bg_init"], "enc0_bg_init")
        fg0, bg0 = model.encode_descriptors(feats[0][8], fg8, bg8)
        assert_close_official(fg0, a["enc0_fg"], "enc0_fg")
        assert_close_official(bg0, a["enc0_bg"], "enc0_bg")

        # Each step continues from the official tensors so a mismatch is pinned to one block.
        logits1 = model.decode_masks(feats[1], a["enc0_fg"][:, :, None], a["enc0_bg"][:, :, None])
        assert_close_official(logits1, a["dec1_logits"], "dec1_logits")
        probs8 = probs_to_stride8(a["dec1_logits"])
        assert_close_official(probs8, a["dec1_probs_stride8"], "dec1_probs_stride8")
        fg8_1, bg8_1 = encoder_masks_from_probs(a["dec1_probs_stride8"][:, 1 + num_bg :], num_bg)
        assert_close_official(fg8_1, a["enc1_in_fg_masks"], "enc1_in_fg_masks")
        assert_close_official(bg8_1, a["enc1_in_bg_masks"], "enc1_in_bg_masks")
        fg1, bg1 = model.encode_descriptors(feats[1][8], a["enc1_in_fg_masks"], a["enc1_in_bg_masks"])
        assert_close_official(fg1, a["enc1_fg"], "enc1_fg")
        assert_close_official(bg1, a["enc1_bg"], "enc1_bg")

        logits2 = model.decode_masks(
            feats[2], a["dec2_fg_hist"], a["dec2_bg_hist"], a["dec2_fg_invalid"], a["dec2_bg_invalid"]
        )
        assert_close_official(logits2, a["dec2_logits"], "dec2_logits")


@pytest.mark.parametrize("case_path", CASE_PATHS, ids=IDS)
def test_pathD_preprocessing(case_path: Path) -> None:
    d = load_case(case_path)["pathD"]
    raw = d["raw_bgr_uint8"]
    h, w = raw.shape[:2]
    size = resized_dims(h, w, d["min_dim"], d["max_dim"])
    assert size == tuple(d["resized_hw"])
    diff = assert_close_official(preprocess_frames(raw.numpy(), size), d["normalized_padded"], "pathD image")
    print(f"pathD {case_path.stem}: normalised+padded max abs diff {diff:.2e}")
    mask = pad_to_multiple(resize_mask(raw_reference_mask(d), size).to(torch.uint8)[None])
    assert torch.equal(mask, d["ref_mask_padded"].to(torch.uint8))


def readme_pathd_box(readme: Path) -> tuple[int, int, int, int]:
    """The box (y0, y1, x0, x1) the fixture README gives for pathD's mask ("the box mask [y0:y1, x0:x1]"),
    for cases that store neither the mask nor the box: read from the fixture, never written here."""
    text = readme.read_text() if readme.is_file() else ""
    found = re.search(r"box mask \[(\d+):(\d+),\s*(\d+):(\d+)\]", text)
    assert found, f"{readme}: no 'box mask [y0:y1, x0:x1]' for pathD; store ref_mask_raw in the case"
    y0, y1, x0, x1 = (int(v) for v in found.groups())
    return y0, y1, x0, x1


def raw_reference_mask(d: dict, readme: Path | None = None) -> torch.Tensor:
    """pathD's reference mask [H, W] uint8 at the raw frame size, from the case: a stored mask
    (``ref_mask_raw`` / ``ref_mask``), else a stored box ``ref_mask_box`` (y0, y1, x0, x1), else the box
    of the fixture's README (cases written before the box was stored)."""
    h, w = d["raw_bgr_uint8"].shape[:2]
    for key in ("ref_mask_raw", "ref_mask"):
        if key in d:
            mask = torch.as_tensor(d[key]).to(torch.uint8).squeeze()
            assert tuple(mask.shape) == (h, w), f"pathD {key} is {tuple(mask.shape)}, frame {h}x{w}"
            return mask
    box = d["ref_mask_box"] if "ref_mask_box" in d else readme_pathd_box(readme or FIXTURE_DIR / "README.md")
    y0, y1, x0, x1 = (int(v) for v in box)
    mask = torch.zeros(h, w, dtype=torch.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def _run_pathB(case: dict, key: str) -> torch.Tensor:
    """The official loop's inputs -> our labels [T, H, W] uint8 at the made-up original size."""
    p = case[key]
    seg = VideoSegmenter(
        paper_model_with_official_weights(), temporal_window=p["temporal_window"], device="cpu"
    )
    seg.reset(key)
    for frame, objects in sorted(p["ref_masks"].items()):
        for obj_id, mask in objects:
            seg.add_object_mask(frame, obj_id, mask, at_input_size=True)
    frames = case["frames"][: p["labels"].shape[0]]  # the frames this path's labels cover
    results = seg.propagate_preprocessed(
        frames, input_hw=tuple(p["resized_dims"]), orig_hw=tuple(p["orig_dims"])
    )
    return torch.stack([torch.from_numpy(r.labels) for r in results])


@pytest.mark.slow
@pytest.mark.parametrize("case_path", CASE_PATHS, ids=IDS)
@pytest.mark.parametrize("key", ["pathB", "pathB_tw1"])
def test_pathB_inference_loop_labels(case_path: Path, key: str) -> None:
    case = load_case(case_path)
    ours = _run_pathB(case, key)
    ref = case[key]["labels"].to(torch.uint8)
    assert ours.shape == ref.shape
    differ = (ours != ref).sum().item()
    print(f"{key} {case_path.stem}: {differ} of {ref.numel()} label pixels differ")
    # Identical, or a handful of pixels at exact ties (the message gives the count).
    assert differ == 0, f"{differ} of {ref.numel()} label pixels differ from the official loop ({key})"


def _inputs(case: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pathC's sample: the reference frame and the other frames it names (its masks say how many:
    1 + NUM_OTHER_FRAMES, which may be fewer than the case's frames) -> images, labels, presence."""
    c = case["pathC"]
    labels = torch.cat([c["ref_mask"][:, None], c["other_masks"]], dim=1).long()  # [1, F, H, W]
    num_frames = labels.shape[1]
    assert c["presence"].shape[1] == num_frames, "pathC presence and masks disagree on the frame count"
    images = case["frames"][None, :num_frames]  # [1, F, 3, H, W]
    return images, labels, c["presence"]


@pytest.mark.slow
@pytest.mark.parametrize("case_path", CASE_PATHS, ids=lambda p: Path(p).stem)
@pytest.mark.parametrize("iteration", [0, 1])
def test_training_forward_matches_official(case_path: Path, iteration: int) -> None:
    case = load_case(case_path)
    official = case["pathC"]["by_iter"][iteration]
    model = paper_model_with_official_weights()
    images, labels, presence = _inputs(case)
    labels, presence = drop_vanished_objects(labels, presence)
    with torch.no_grad():
        out = run_cycles(model, images, labels, presence, [True] * images.shape[1], iteration)
    assert out.frame_ids == list(official["frame_ids"])
    assert torch.equal(out.gt.to(torch.uint8), official["gt"]), "per-prediction ground truth differs"
    dice = multiclass_dice_loss(out.logits, out.gt)
    ce = cross_entropy_loss(out.logits, out.gt)
    print(f"iter {iteration}: dice {dice.item():.7f} vs {official['dice'].item():.7f}, "
          f"ce {ce.item():.7f} vs {official['ce'].item():.7f}")  # fmt: skip
    torch.testing.assert_close(dice, official["dice"], rtol=1e-5, atol=0)
    torch.testing.assert_close(ce, official["ce"], rtol=1e-5, atol=0)
    torch.testing.assert_close(dice + ce, official["loss"], rtol=1e-5, atol=0)


def test_checkpoint_of_paper_variant_has_the_official_layout() -> None:
    """``final.pth`` of a paper-variant run: the official keys (and key order) with the same tensors."""
    from hodor.train.cycles import TrainingModel
    from hodor.train.distributed import DistContext
    from hodor.train.loop import Trainer
    from hodor.train.optim import build_optimizer
    from hodor.train.params import PAPER_STATIC
    from hodor.train.run import _meta, _payload

    model = paper_model_with_official_weights()
    optimizer, scheduler = build_optimizer(model, PAPER_STATIC)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    trainer = Trainer(
        TrainingModel(model), optimizer, scheduler, scaler, DistContext(), seed=0, accumulation=4
    )
    meta = _meta("static", model.params, PAPER_STATIC, 0)
    payload = _payload(trainer, meta, official_keys=True)
    official = official_state_dict()
    assert list(payload["model"]) == list(official)
    for name, value in official.items():
        assert torch.equal(payload["model"][name], value), name
    assert payload["hodor"]["key_layout"] == "official" and payload["iterations"] == 0
    (opt_state, (sched_state,)), = payload["optimizers_and_lr_schedulers"]  # fmt: skip
    assert sched_state["last_epoch"] == 0 and opt_state["param_groups"][0]["weight_decay"] == 0.01


@pytest.mark.parametrize("case_path", CASE_PATHS, ids=IDS)
def test_paths_read_their_frames_and_mask_from_the_case(case_path: Path) -> None:
    """A case with more frames than its paths use, and pathD's mask stored in it, is read correctly."""
    case = dict(load_case(case_path))
    frames = case["frames"]
    case["frames"] = torch.cat([frames, torch.zeros_like(frames[:2])])  # two frames no path uses
    images, labels, presence = _inputs(case)
    assert (
        images.shape[1] == labels.shape[1] == presence.shape[1] == 1 + case["pathC"]["other_masks"].shape[1]
    )
    assert torch.equal(images[0], frames[: images.shape[1]])
    d = dict(case["pathD"])
    h, w = d["raw_bgr_uint8"].shape[:2]
    d["ref_mask_box"] = (1, 3, 2, 5)
    assert raw_reference_mask(d).sum() == 2 * 3 and raw_reference_mask(d)[1:3, 2:5].all()
    d["ref_mask_raw"] = torch.ones(h, w, dtype=torch.uint8)
    assert raw_reference_mask(d).all()


def test_pathD_box_is_read_from_the_fixture_readme(tmp_path: Path) -> None:
    """Without a stored mask or box, the box comes from the README beside the case, whatever it says."""
    readme = tmp_path / "README.md"
    readme.write_text("`ref_mask_padded` [1,8,8] (the box mask [2:5, 1:7] resized bilinearly, ...)")
    d = {"raw_bgr_uint8": torch.zeros(9, 10, 3, dtype=torch.uint8)}
    mask = raw_reference_mask(d, readme)
    assert mask.sum() == 3 * 6 and mask[2:5, 1:7].all()
    readme.write_text("no box here")
    with pytest.raises(AssertionError, match="ref_mask_raw"):
        raw_reference_mask(d, readme)
