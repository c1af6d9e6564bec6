"""Checkpoint key mapping (official <-> ours), safe loading and the optional pretrained backbone file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hodor.errors import InputError
from hodor.model import MODEL_VARIANTS, build_model
from hodor.model.checkpoint import (
    load_checkpoint_file,
    load_model_weights,
    load_pretrained_backbone,
    official_to_ours,
    ours_to_official,
)


class Custom:  # a class a safe loader must refuse to unpickle
    pass


@pytest.fixture(scope="module")
def paper_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_model(MODEL_VARIANTS["paper"]).state_dict()


def test_mapping_round_trip_and_official_layout(paper_state: dict[str, torch.Tensor]) -> None:
    official = ours_to_official(paper_state)
    assert len(official) == 469  # official state dict: 469 entries, 42,119,880 elements with buffers
    assert sum(v.numel() for v in official.values()) == 42_119_880
    index = official["feature_extractor.bb_fpn.0.layers.2.blocks.5.attn.relative_position_index"]
    assert index.dtype == torch.int64 and index.shape == (49, 49)
    assert (
        "feature_extractor.bb_fpn.0.layers.2.downsample.reduction.weight" in official
    )  # merges out of stage 2
    assert official["feature_extractor.bb_fpn.1.fpn_convs.3.conv.weight"].shape == (256, 256, 3, 3)
    back = official_to_ours(official)
    assert back.keys() == paper_state.keys()
    assert all(torch.equal(back[k], v) for k, v in paper_state.items())


def test_official_checkpoint_file_loads(tmp_path: Path, paper_state: dict[str, torch.Tensor]) -> None:
    # The official TrainerBase.backup_session layout: model, [(optimizer state, [scheduler states])],
    # the TrainingLogger's plain-number state, iterations (plus, here, a numpy scalar for the allow-list).
    weight = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([weight], lr=1e-4)
    weight.sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    path = tmp_path / "250000.pth"
    torch.save(
        {
            "model": ours_to_official(paper_state),
            "optimizers_and_lr_schedulers": [(opt.state_dict(), [sched.state_dict()])],
            "logger": {"total_iterations": 250000, "_TrainingLogger__train_start_time": 1.5e9,
                       "_TrainingLogger__latest_iteration_num": None, "mean_loss": np.float64(0.5)},
            "iterations": 250000,
        },
        path,
    )  # fmt: skip
    model = build_model(MODEL_VARIANTS["paper"])
    data = load_model_weights(model, path)
    assert data["iterations"] == 250000
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in paper_state.items())


def test_our_checkpoint_loads_and_wrong_variant_is_refused(tmp_path: Path) -> None:
    torch.manual_seed(1)
    quick = build_model(MODEL_VARIANTS["quick"])
    path = tmp_path / "final.pth"
    torch.save(
        {"model": quick.state_dict(), "iterations": 3, "hodor": {"model_params": {"variant": "quick"}}}, path
    )
    fresh = build_model(MODEL_VARIANTS["quick"])
    load_model_weights(fresh, path)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in quick.state_dict().items())
    with pytest.raises(InputError, match=r"final.pth does not fit the model.*missing \(\d+\)"):
        load_model_weights(build_model(MODEL_VARIANTS["paper"]), path)
    with pytest.raises(InputError, match="no official HODOR equivalent"):
        ours_to_official(quick.state_dict())


def test_unsafe_or_bad_files_are_refused(tmp_path: Path, paper_state: dict[str, torch.Tensor]) -> None:
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"model": {}, "extra": Custom()}, unsafe)
    with pytest.raises(InputError, match=r"unsafe.pth: refused to load.*Custom"):
        load_checkpoint_file(unsafe)
    with pytest.raises(InputError, match="not found"):
        load_checkpoint_file(tmp_path / "missing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="garbage.pth"):
        load_checkpoint_file(garbage)
    official = ours_to_official(paper_state)
    key = "feature_extractor.bb_fpn.0.layers.0.blocks.0.attn.relative_position_index"
    with pytest.raises(InputError, match="7x7 window index"):
        official_to_ours({**official, key: official[key].flip(0)})
    with pytest.raises(InputError, match="not a name of the official"):
        official_to_ours({**official, "decoderX.foo": torch.zeros(1)})


def test_pretrained_backbone_file(tmp_path: Path, paper_state: dict[str, torch.Tensor]) -> None:
    official = ours_to_official(paper_state)
    swin, fpn = "feature_extractor.bb_fpn.0.", "feature_extractor.bb_fpn.1."
    mmdet = {"backbone." + k[len(swin) :]: v for k, v in official.items() if k.startswith(swin)}
    mmdet.update({"neck." + k[len(fpn) :]: v for k, v in official.items() if k.startswith(fpn)})
    mmdet["rpn_head.rpn_cls.weight"] = torch.zeros(3, 256, 1, 1)  # detection heads are ignored
    path = tmp_path / "swin_tiny_pretrained.pth"
    torch.save({"state_dict": mmdet, "meta": {"epoch": 12}}, path)
    torch.manual_seed(2)
    model = build_model(MODEL_VARIANTS["paper"])
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    load_pretrained_backbone(model, path)
    state = model.state_dict()
    for key, value in paper_state.items():
        if key.startswith(("feature_extractor.backbone.", "feature_extractor.fpn.")):
            assert torch.equal(state[key], value), key
    assert all(torch.equal(model.encoder.state_dict()[k], v) for k, v in encoder_before.items())
    del mmdet["backbone.norm3.weight"]
    torch.save({"state_dict": mmdet}, path)
    with pytest.raises(InputError, match="missing.*backbone.norm3.weight"):
        load_pretrained_backbone(model, path)
