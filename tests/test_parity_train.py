"""Parity with the official HODOR code: the training forward over all cycles and its losses (pathC).

Reads every ``case_*.pt`` of ``$HODOR_PARITY_FIXTURE`` (default ``<repo>/../shared/fixtures/hodor-parity``).
Our training forward (``hodor.train.cycles``) runs the paper variant with the fixture's weights in eval
mode (dropout off); the per-prediction ground truth, the frame order and both losses must match
(losses to relative 1e-5).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from parity_utils import CASE_PATHS, load_case, paper_model_with_official_weights, requires_fixture

from hodor.train.cycles import drop_vanished_objects, run_cycles
from hodor.train.losses import cross_entropy_loss, multiclass_dice_loss

pytestmark = requires_fixture


def _inputs(case: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    c = case["pathC"]
    images = case["frames"][None]  # [1, F, 3, H, W]
    labels = torch.cat([c["ref_mask"][:, None], c["other_masks"]], dim=1).long()  # [1, F, H, W]
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
    from parity_utils import official_state_dict

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
