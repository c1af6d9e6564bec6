"""Training data: augmentations keep masks aligned, sample lists per regime, batches, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from hodor.data import augment as aug
from hodor.data.standard_json import load_image_dataset, load_video_dataset
from hodor.data.train_samples import middle_reference, plan_samples, split_index
from hodor.data.workspace import image_root, json_path
from hodor.errors import InputError
from hodor.model import build_model
from hodor.model.checkpoint import load_checkpoint_file, load_model_weights
from hodor.train import checkpoint as ckpt
from hodor.train.distributed import DistContext
from hodor.train.loop import rank_batch_indices
from hodor.train.resume import aside_root
from hodor.train.run import build_batches, train
from hodor.train.toydata import make_toy_workspace, toy_model_params, toy_train_params

COLORS = {1: (0, 0, 255), 2: (0, 255, 0)}


def _coloured_scene() -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros((96, 128), np.uint8)
    labels[20:70, 15:60] = 1
    labels[40:85, 70:120] = 2
    image = np.zeros((96, 128, 3), np.uint8)
    for obj, colour in COLORS.items():
        image[labels == obj] = colour
    return image, labels


def _assert_aligned(frame: aug.Frame) -> None:
    """Inside the valid area, pixels labelled with an object have that object's colour (boundary aside)."""
    for obj, colour in COLORS.items():
        channel = int(np.argmax(colour))
        coloured = (frame.image[..., channel] > 128) & (frame.image.sum(-1) - frame.image[..., channel] < 128)
        labelled = (frame.labels == obj) & frame.valid
        if labelled.sum() < 20:
            continue
        assert (coloured & labelled).sum() >= 0.9 * labelled.sum(), f"object {obj}: mask off its pixels"
        assert (coloured & labelled).sum() >= 0.9 * (coloured & frame.valid).sum(), (
            f"object {obj}: pixels off"
        )


@pytest.mark.parametrize("seed", range(12))
def test_augmentations_keep_masks_aligned(seed: int) -> None:
    rng = np.random.default_rng(seed)
    image, labels = _coloured_scene()
    frames = aug.static_pseudo_video(rng, image, labels, num_other=2, min_area=100)
    frames += aug.video_geometric(rng, [aug.Frame(image, labels, np.ones_like(labels, bool))] * 2, 100)
    frames = aug.resize_frames(aug.hflip(frames), *aug.pixel_budget_dims(96, 128, 6000))
    for frame in frames:
        assert frame.image.shape[:2] == frame.labels.shape == frame.valid.shape
        _assert_aligned(frame)


def test_color_jitter_and_pixel_budget() -> None:
    image, _ = _coloured_scene()
    out = aug.color_jitter(image, aug.color_jitter_params(np.random.default_rng(0), 25))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert aug.pixel_budget_dims(480, 640, 300_000) == (474, 632)  # floor(sqrt(0.75 * 3e5)), 3e5 // 474


def _videos(ws: Path) -> list:
    return [
        load_video_dataset(json_path(ws, n), image_root(ws, n))
        for n in ("youtube_vos_2019_train", "davis_train")
    ]


def test_sample_lists_per_regime(tmp_path: Path) -> None:
    ws = make_toy_workspace(tmp_path, videos=3, frames=8)
    params = toy_train_params(max_clip_delta=3)
    coco = load_image_dataset(json_path(ws, "coco_2017_train"), image_root(ws, "coco_2017_train"))
    static = plan_samples("static", [coco], [1.0], params)
    specs = [static.spec(i) for i in range(24)]
    assert all(1 <= len(s.objects) <= params.num_instances for s in specs)
    counts = [len(s.objects) for s in specs]  # the instance counts share the samples equally
    assert (
        len(set(counts)) == len(static.candidates[0].pools) and len(set(map(counts.count, set(counts)))) == 1
    )
    videos = _videos(ws)
    sparse_plan = plan_samples("sparse", videos, [0.8, 0.2], params)
    sparse = [sparse_plan.spec(i) for i in range(20)]
    assert sum(s.source == 0 for s in sparse) == 16
    for s in sparse:
        assert s.frames[0] == middle_reference(videos[s.source].sequences[s.item].annotated_frames(), 8)
        assert len(set(s.frames)) == 3
    dense_plan = plan_samples("dense", videos, [0.8, 0.2], params)
    for s in (dense_plan.spec(i) for i in range(20)):
        assert list(s.frames) == sorted(s.frames) and s.frames[0] < s.frames[1]
        assert s.frames[2] - s.frames[0] < params.max_clip_delta * (2 if s.source == 1 else 1)
    assert middle_reference([0, 5, 10, 15], 20) == 10  # official code would pick 15 (the last)


@pytest.mark.parametrize("shares", [[0.8, 0.2], [0.3, 0.7], [1.0, 0.0], [0.0, 1.0]])
def test_dataset_shares_hold_in_every_prefix(shares: list[float]) -> None:
    sources = [split_index(i, shares) for i in range(1000)]
    for n in (1, 7, 10, 333, 1000):
        from_first = sum(s == 0 for s, _ in sources[:n])
        assert abs(from_first - n * shares[0]) < 1, (n, from_first)
    for d in (0, 1):  # each dataset's own samples are numbered 0, 1, 2, ... in order
        assert [j for s, j in sources if s == d] == list(range(sum(s == d for s, _ in sources)))


def test_pool_passes_cover_every_candidate_before_repeating(tmp_path: Path) -> None:
    ws = make_toy_workspace(tmp_path, images=9, videos=1)
    params = toy_train_params(num_instances=1)  # one instance count: the pool is every usable image
    coco = load_image_dataset(json_path(ws, "coco_2017_train"), image_root(ws, "coco_2017_train"))
    plan = plan_samples("static", [coco], [1.0], params)
    n = len(plan.candidates[0].pools[1])
    items = [plan.spec(i).item for i in range(3 * n)]
    for p in range(3):
        assert sorted(items[p * n : (p + 1) * n]) == sorted(plan.candidates[0].item.tolist())
    assert items[:n] != items[n : 2 * n]  # reshuffled each pass


@pytest.mark.parametrize("regime", ["static", "sparse", "dense"])
def test_batches_do_not_depend_on_run_length(tmp_path: Path, regime: str) -> None:
    """Prefix property: a longer run starts with exactly the batches of a shorter one."""
    ws = make_toy_workspace(tmp_path, images=6, videos=2)
    short = toy_train_params(iterations=3, batch_size=4, samples_per_forward=2, max_image_area=40 * 60)
    long = dataclasses.replace(short, iterations=200)
    a, b = (build_batches(regime, ws, p, seed=0, world_size=1) for p in (short, long))
    assert len(a) == 6 and len(b) == 400
    assert [a.plan.sample_indices(i) for i in range(6)] == [b.plan.sample_indices(i) for i in range(6)]
    for i in (0, 5):
        assert torch.equal(a[i]["images"], b[i]["images"]) and torch.equal(a[i]["labels"], b[i]["labels"])
    specs = [s for i in range(len(b)) for s in b.plan.specs(i)]  # windows past the first are batched too
    for i in range(len(b)):
        batch = b.plan.specs(i)
        assert len({len(s.objects) for s in batch}) == 1
        assert max(s.aspect for s in batch) - min(s.aspect for s in batch) <= 0.1
    assert len({(s.source, s.item) for s in specs}) > 1


def test_ranks_see_the_same_global_batches(tmp_path: Path) -> None:
    """World size 1 with accumulation 2 and world size 2 consume the same global forward batches."""
    ws = make_toy_workspace(tmp_path, images=6, videos=1)
    params = toy_train_params(iterations=5, batch_size=4, samples_per_forward=2)
    one = rank_batch_indices(0, 5, params.accumulation(1), DistContext())
    two = [
        rank_batch_indices(0, 5, params.accumulation(2), DistContext(rank=r, world_size=2)) for r in (0, 1)
    ]
    assert sorted(one) == sorted([*two[0], *two[1]]) == list(range(10))
    data1 = build_batches("static", ws, params, seed=0, world_size=1)
    data2 = build_batches("static", ws, params, seed=0, world_size=2)
    assert [data1.plan.sample_indices(i) for i in one] == [data2.plan.sample_indices(i) for i in range(10)]
    resumed = rank_batch_indices(3, 5, params.accumulation(2), DistContext(rank=1, world_size=2))
    assert list(resumed) == list(two[1])[3:]


@pytest.mark.parametrize("regime", ["static", "sparse", "dense"])
def test_batches_are_padded_and_consistent(tmp_path: Path, regime: str) -> None:
    ws = make_toy_workspace(tmp_path, images=6, videos=2)
    params = toy_train_params(iterations=2, batch_size=4, samples_per_forward=2, max_image_area=50 * 70)
    data = build_batches(regime, ws, params, seed=0, world_size=1)
    assert len(data) == 4
    batch = data[0]
    b, f, c, h, w = batch["images"].shape
    assert (b, f, c) == (2, 3, 3) and h % 32 == 0 and w % 32 == 0
    assert batch["labels"].shape == (2, 3, h, w) and batch["labels"].dtype == torch.long
    num_obj = batch["presence"].shape[2]
    assert int(batch["labels"].max()) <= num_obj and batch["presence"][:, 0].all()
    assert batch["has_gt"] == ([True, False, False] if regime == "sparse" else [True] * 3)
    if regime == "sparse":
        assert not batch["labels"][:, 1:].any()
    again = data[0]  # a forward batch is a pure function of (seed, index)
    assert torch.equal(again["images"], batch["images"]) and torch.equal(again["labels"], batch["labels"])


def test_no_usable_sample_is_an_input_error(tmp_path: Path) -> None:
    ws = make_toy_workspace(tmp_path, images=2, videos=1)
    params = toy_train_params(min_ref_mask_area=10**6)
    for regime in ("static", "sparse"):
        with pytest.raises(InputError, match="no usable|no image has an object"):
            train(regime, model_params=toy_model_params(), params=params, seed=0, workspace=ws,
                  out_dir=tmp_path / regime, progress=False)  # fmt: skip
        assert not (tmp_path / regime).exists()


def test_another_config_sets_the_checkpoints_aside(tmp_path: Path) -> None:
    ws = make_toy_workspace(tmp_path, images=4, videos=1)
    params = toy_train_params(iterations=2, save_interval=2)
    out = tmp_path / "run"
    train("static", model_params=toy_model_params(), params=params, seed=0, workspace=ws, out_dir=out,
          progress=False)  # fmt: skip
    saved = torch.load(out / "000002.pth", weights_only=True)
    assert set(saved) >= {"model", "optimizers_and_lr_schedulers", "iterations", "hodor"}
    assert saved["iterations"] == 2 and saved["hodor"]["key_layout"] == "ours"
    ((opt_state, (sched_state,)),) = saved["optimizers_and_lr_schedulers"]  # official layout
    assert sched_state["last_epoch"] == 2 and len(opt_state["state"]) > 0
    final = load_checkpoint_file(out / "final.pth")  # weights_only, as inference loads it
    load_model_weights(build_model(toy_model_params()), final)
    # Another configuration never continues these checkpoints: they are set aside (tests/test_train_resume.py).
    changed = dataclasses.replace(params, base_lr=params.base_lr * 2)
    lines: list[str] = []
    train("static", model_params=toy_model_params(), params=changed, seed=0, workspace=ws, out_dir=out,
          progress=False, say=lines.append)  # fmt: skip
    assert "train.base_lr" in lines[0] and "starting fresh" in lines[0]
    aside = ckpt.load(aside_root(out) / saved["hodor"]["definition_id"] / "000002.pth")
    assert all(torch.equal(v, saved["model"][k]) for k, v in aside["model"].items())


@pytest.mark.parametrize("amp", ["bf16"])
def test_autocast_training_runs_on_cpu(tmp_path: Path, amp: str) -> None:
    ws = make_toy_workspace(tmp_path, images=4, videos=1)
    params = toy_train_params(iterations=2, amp=amp)
    summary = train("static", model_params=toy_model_params(), params=params, seed=0, workspace=ws,
                    out_dir=tmp_path / "out", progress=False)  # fmt: skip
    assert summary.steps == 2 and np.isfinite(summary.last_loss)


def test_loader_workers_deliver_the_in_process_batches(tmp_path: Path) -> None:
    """Two forked workers give the batches the rank computes itself, even though this process has used
    OpenCV's thread pool before the fork (its parked threads made every worker hang: issue 16)."""
    import time

    import cv2

    from hodor.data.train_samples_loader import fork_friendly, training_loader

    ws = make_toy_workspace(tmp_path, images=6, videos=1)
    data = build_batches("static", ws, toy_train_params(iterations=3, batch_size=2), seed=0, world_size=1)
    sampler = range(1, 6, 2)
    expected = list(training_loader(data, sampler, num_workers=0))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        cv2.resize(np.zeros((1500, 1500, 3), np.uint8), (2000, 2000))  # starts the pool's threads here
        time.sleep(0.2)  # and lets them park on their condition variable, as between tests
        with fork_friendly():  # timeout: a hang fails the test instead of stalling the suite
            got = list(training_loader(data, sampler, num_workers=2, timeout=60))
    finally:
        cv2.setNumThreads(threads)
    assert len(got) == len(expected) == 3
    for batch, want in zip(got, expected, strict=True):
        for key in ("images", "labels", "presence"):
            assert torch.equal(batch[key], want[key]), key
        assert batch["has_gt"] == want["has_gt"]
