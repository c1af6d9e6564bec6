"""Unit tests of the training building blocks: losses, schedules, cycles, object bookkeeping, params."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hodor.config import ParamsError, from_dict, to_dict
from hodor.train.cycles import build_cycles, drop_vanished_objects
from hodor.train.losses import cross_entropy_loss, mask_iou, merge_background, multiclass_dice_loss
from hodor.train.optim import lr_at
from hodor.train.params import (
    PAPER_DENSE,
    PAPER_SPARSE,
    PAPER_STATIC,
    QUICK_DENSE,
    QUICK_SPARSE,
    QUICK_STATIC,
    FinetuneParams,
    TrainParams,
    load_train_params,
)


def _trace(cycles) -> list[list[str]]:
    return [[s.trace() for s in c] for c in cycles]


def test_cycles_even_and_odd_iterations() -> None:
    assert _trace(build_cycles(2, 0)) == [
        ["[0]->0;"],
        ["[0]->1;", "[1]->0;"],
        ["[0]->1;", "[1]->2;", "[2]->1;", "[1]->0;"],
    ]
    assert _trace(build_cycles(2, 1)) == [
        ["[0]->0;"],
        ["[0]->1;", "[1]->0;"],
        ["[0]->1;", "[0,1]->2;", "[2]->1;", "[1,2]->0;"],
    ]
    assert [s.forward for s in build_cycles(2, 7)[2]] == [True, True, False, False]


def test_dice_matches_hand_computation() -> None:
    logits = torch.randn(2, 3, 2, 4, 5)
    target = torch.randint(0, 3, (2, 2, 4, 5))
    target[1] = 0  # no object at all in sample 1 ...
    logits[1, 0] = 50.0  # ... and none predicted: numerator ~ 0 -> that sample contributes 0
    probs = logits.softmax(1)
    expected = []
    for b in range(2):
        p = probs[b, 1:].flatten()
        t = torch.nn.functional.one_hot(target[b], 3).movedim(-1, 0)[1:].flatten().float()
        num, den = 2 * (p * t).mean(), (p + t).mean()
        expected.append(1 - (num + 1e-6) / (den + 1e-6) if num > 1e-6 else torch.tensor(0.0))
    torch.testing.assert_close(multiclass_dice_loss(logits, target), torch.stack(expected).mean())
    perfect = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 100
    assert multiclass_dice_loss(perfect, target) < 1e-4
    torch.testing.assert_close(
        cross_entropy_loss(logits, target), torch.nn.functional.cross_entropy(logits, target)
    )


def test_mask_iou_is_the_argmax_iou_ties_included() -> None:
    """The logged IoU picks the first maximum as ``argmax`` does, even where channels tie (logits on a
    coarse grid of values tie often), and pools all objects against the ground-truth foreground."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randint(0, 3, (2, 4, 3, 17, 23), generator=gen).float()  # [B, 1+I, N, H, W]
    target = torch.randint(0, 4, (2, 3, 17, 23), generator=gen)
    pred = logits.argmax(dim=1)
    inter = ((pred == target) & (target > 0)).sum()
    union = ((pred > 0) | (target > 0)).sum()
    assert (logits == logits.max(dim=1, keepdim=True).values).sum(dim=1).gt(1).any()  # ties present
    assert mask_iou(logits, target).item() == (inter.float() / union.float()).item()
    assert mask_iou(torch.zeros(1, 2, 1, 3, 3), torch.zeros(1, 1, 3, 3, dtype=torch.long)).item() == 0.0


def test_merge_background_takes_max_of_catch_all_and_patches() -> None:
    logits = torch.randn(1, 1 + 9 + 2, 3, 3)
    merged = merge_background(logits, 9)
    assert merged.shape == (1, 3, 3, 3)
    torch.testing.assert_close(merged[:, 0], logits[:, :10].max(1).values)
    torch.testing.assert_close(merged[:, 1:], logits[:, 10:])


def test_official_lr_schedules() -> None:
    assert lr_at(0, PAPER_STATIC) == pytest.approx(1e-7)
    assert lr_at(5_000, PAPER_STATIC) == pytest.approx(1e-7 + 0.5 * (1e-4 - 1e-7))
    assert lr_at(10_000, PAPER_STATIC) == pytest.approx(1e-4)
    assert lr_at(99_999, PAPER_STATIC) == pytest.approx(1e-4)
    assert lr_at(100_000, PAPER_STATIC) == pytest.approx(1e-5)
    assert lr_at(0, PAPER_SPARSE) == pytest.approx(1e-8)
    assert lr_at(10_000, PAPER_SPARSE) == lr_at(119_999, PAPER_SPARSE) == pytest.approx(1e-5)
    assert PAPER_STATIC.accumulation(1) == 4 and PAPER_STATIC.accumulation(4) == 1
    assert (PAPER_SPARSE.max_clip_delta, PAPER_DENSE.max_clip_delta) == (6, 8)


def test_drop_vanished_objects_renumbers_over_the_batch() -> None:
    labels = torch.zeros(2, 3, 32, 32, dtype=torch.long)
    labels[:, :, :16, :16] = 1
    labels[:, :, 20:22, 20:22] = 2  # a 2x2 blob vanishes under nearest 1/8 sampling (rows/cols 0, 8, 16, 24)
    labels[:, :, 24:32, 24:32] = 3
    presence = torch.ones(2, 3, 3, dtype=torch.bool)
    presence[0, 1, 2] = False
    new_labels, new_presence = drop_vanished_objects(labels, presence)
    assert set(new_labels.unique().tolist()) == {0, 1, 2}
    assert bool((new_labels[:, :, 24:, 24:] == 2).all())  # old 3 -> 2
    assert new_presence.shape == (2, 3, 2) and not bool(new_presence[0, 1, 1])
    only_small = torch.zeros(1, 3, 32, 32, dtype=torch.long)
    only_small[:, :, 20:22, 20:22] = 1
    kept, _ = drop_vanished_objects(only_small, torch.ones(1, 3, 1, dtype=torch.bool))
    assert torch.equal(kept, only_small)  # none survives: id 1 is kept (official)


def test_params_round_trip_and_bad_values() -> None:
    assert from_dict(TrainParams, to_dict(PAPER_STATIC)) == PAPER_STATIC
    data = to_dict(QUICK_STATIC)
    with pytest.raises(ParamsError, match="base_lr"):
        from_dict(TrainParams, {**data, "base_lr": "fast"}, source="params.yaml [pretrain]")
    with pytest.raises(ParamsError, match="batch_size"):
        from_dict(TrainParams, {**data, "batch_size": 3})
    with pytest.raises(ParamsError, match="youtube_vos_fraction"):
        from_dict(TrainParams, {**data, "youtube_vos_fraction": 1.5})
    with pytest.raises(ParamsError, match="amp"):
        from_dict(TrainParams, {**data, "amp": "fp8"})
    finetune = {"regimes": ["sparse"], "sparse": data, "dense": data}
    assert from_dict(FinetuneParams, finetune).for_regime("sparse") == QUICK_STATIC
    with pytest.raises(ParamsError, match=r"finetune: .*regimes"):
        from_dict(FinetuneParams, {**finetune, "regimes": ["cyclic"]}, source="finetune")
    with pytest.raises(ValueError, match="world size"):
        dataclasses.replace(QUICK_STATIC, batch_size=4, samples_per_forward=2).accumulation(3)


def test_live_hook_logs_the_last_steps_off_the_interval(tmp_path) -> None:
    """A run of 7 steps logged every 5 ends with a row for step 7 (means of steps 6-7)."""
    from types import SimpleNamespace

    from hodor.train.hooks import LiveHook

    hook = LiveHook(tmp_path / "live", interval=5, resume=False)
    trainer = SimpleNamespace(step=0)
    hook.before_train(trainer)
    for step in range(1, 8):
        trainer.step = step
        hook.after_step(trainer, {"loss": float(step)})
    hook.after_train(trainer)
    rows = (tmp_path / "live/plots/metrics/train/loss.tsv").read_text().splitlines()
    assert rows[0].split("\t")[-1] == "loss"
    assert [tuple(float(v) for v in r.split("\t")[-2:]) for r in rows[1:]] == [(5.0, 3.0), (7.0, 6.5)]


def test_optimizer_is_fused_and_steps_like_plain_adamw() -> None:
    """The fused AdamW of build_optimizer makes the update of the per-parameter (for-loop) AdamW."""
    from hodor.train.optim import build_optimizer
    from hodor.train.params import QUICK_STATIC

    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)) for _ in "ab"]
    nets[1].load_state_dict(nets[0].state_dict())
    params = dataclasses.replace(QUICK_STATIC, warmup_iters=0)
    fused, _ = build_optimizer(nets[0], params)
    plain = torch.optim.AdamW(
        nets[1].parameters(), lr=params.base_lr, weight_decay=params.weight_decay, foreach=False
    )
    assert fused.defaults["fused"] is True
    x = torch.randn(16, 5)
    for _ in range(3):
        for net, opt in zip(nets, (fused, plain), strict=True):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_quick_presets_are_the_default_params_file(repo_root) -> None:
    """QUICK_* name the default profile in code (toy data, docs): they must say what params.yaml runs."""
    import yaml

    params_path = repo_root / "params.yaml"
    assert load_train_params(params_path, "static") == QUICK_STATIC
    assert load_train_params(params_path, "sparse") == QUICK_SPARSE
    assert load_train_params(params_path, "dense") == QUICK_DENSE
    # every key but the launch keys is a field: nothing in params.yaml is silently dropped
    params = yaml.safe_load(params_path.read_text())
    for section, preset in ((params["pretrain"], QUICK_STATIC), (params["finetune"]["dense"], QUICK_DENSE)):
        assert set(section) - set(to_dict(preset)) == {"nproc_per_node"}
