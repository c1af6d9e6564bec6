"""A tiny training workspace (standardized JSONs + images) for tests and benchmarks, made in seconds.

Coloured ellipses on a noisy background: COCO-like single images and short videos of moving shapes, in
the official workspace layout (``dataset_json_annotations/<name>.json``, ``dataset_images/<folder>/``).
Not the synthetic pipeline dataset (``hodor.data.synthetic``); only what training code needs to run.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hodor.atomic import write_json
from hodor.data.standard_json import encode_mask
from hodor.data.workspace import image_root, json_path


def _draw(
    rng: np.random.Generator, h: int, w: int, shapes: list[tuple]
) -> tuple[np.ndarray, list[np.ndarray]]:
    image = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
    masks = []
    for cy, cx, ry, rx, color in shapes:
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (int(cx), int(cy)), (int(rx), int(ry)), 0, 0, 360, 1, -1)
        image[mask > 0] = color
        masks.append(mask)
    return image, masks


def _random_shapes(rng: np.random.Generator, h: int, w: int, n: int) -> list[list]:
    return [
        [rng.uniform(0.25, 0.75) * h, rng.uniform(0.25, 0.75) * w, rng.uniform(0.12, 0.22) * h,
         rng.uniform(0.12, 0.22) * w, tuple(int(c) for c in rng.integers(80, 256, 3))]
        for _ in range(n)
    ]  # fmt: skip


def make_toy_workspace(root: Path, *, seed: int = 0, images: int = 8, videos: int = 3, frames: int = 6,
                       size: tuple[int, int] = (64, 96)) -> Path:  # fmt: skip
    """Write the toy workspace under ``root`` and return it."""
    rng = np.random.default_rng(seed)
    h, w = size
    records = []
    folder = image_root(root, "coco_2017_train")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        image, masks = _draw(rng, h, w, _random_shapes(rng, h, w, 1 + i % 3))
        cv2.imwrite(str(folder / f"{i:06d}.png"), image)
        encoded = [encode_mask(m) for m in masks]
        records.append({"id": i, "height": h, "width": w, "image_path": f"{i:06d}.png",
                        "categories": [1] * len(masks), "segmentations": [e["seg"] for e in encoded],
                        "areas": [e["area"] for e in encoded], "bboxes": [e["box"] for e in encoded]})  # fmt: skip
    write_json(
        json_path(root, "coco_2017_train"), {"meta": {"category_labels": {"1": "blob"}}, "images": records}
    )
    for name in ("youtube_vos_2019_train", "davis_train"):
        sequences = []
        for v in range(videos):
            shapes = _random_shapes(rng, h, w, 1 + v % 2)
            velocity = rng.uniform(-2, 2, size=(len(shapes), 2))
            paths, tracks = [], []
            for t in range(frames):
                moved = [
                    [s[0] + t * d[0], s[1] + t * d[1], *s[2:]] for s, d in zip(shapes, velocity, strict=True)
                ]
                image, masks = _draw(rng, h, w, moved)
                rel = f"{name}_{v}/{t:05d}.jpg"
                (image_root(root, name) / rel).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(image_root(root, name) / rel), image)
                paths.append(rel)
                tracks.append({str(k + 1): encode_mask(m) for k, m in enumerate(masks) if m.any()})
            sequences.append({"id": f"{name}_{v}", "height": h, "width": w, "image_paths": paths,
                              "categories": {str(k + 1): 1 for k in range(len(shapes))}, "tracks": tracks})  # fmt: skip
        write_json(
            json_path(root, name), {"meta": {"category_labels": {"1": "blob"}}, "sequences": sequences}
        )
    return root


def toy_model_params():
    """A very small quick-variant model for tests (seconds per step at 64x96)."""
    from hodor.model import ModelParams

    return ModelParams(variant="quick", dim=32, encoder_layers=1, decoder_layers=1, encoder_ffn=64,
                       decoder_ffn=32)  # fmt: skip


def toy_train_params(**overrides):
    """Quick static params shrunk to the toy images (64x96), overridable."""
    import dataclasses

    from hodor.train.params import QUICK_STATIC

    base = dict(iterations=4, batch_size=2, samples_per_forward=1, max_image_area=64 * 96, min_dim=64,
                max_dim=96, min_ref_mask_area=20, min_ref_mask_dim=3, save_interval=2, log_interval=1,
                warmup_iters=2, lr_steps=[], lr_decay_rates=[])  # fmt: skip
    return dataclasses.replace(QUICK_STATIC, **{**base, **overrides})


def _main(argv: list[str] | None = None) -> int:
    """``python -m hodor.train.toydata WORKSPACE OUT [--regime R] [--steps N] [--samples-per-forward S]
    [--lr LR] [--backbone NAME] [--kill-at K] [--no-resume] [--out-per-rank] [--dump-params FILE]``: a toy training run
    printing ``STEP <n> <loss repr>`` per step (used by the torchrun tests). ``--out-per-rank``: rank r
    uses ``OUT/rank<r>`` (simulates nodes without a shared file system)."""
    import argparse
    import dataclasses
    import os
    import signal

    import torch

    from hodor.train.distributed import context_from_env
    from hodor.train.loop import Hook
    from hodor.train.run import train

    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--regime", default="static")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--samples-per-forward", type=int, default=1)
    parser.add_argument("--lr", type=float, default=None, help="constant learning rate (no warm-up)")
    parser.add_argument("--backbone", help="timm backbone instead of the toy model's")
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--out-per-rank", action="store_true")
    parser.add_argument("--dump-params", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ctx = context_from_env(os.environ, "cpu")

    class Report(Hook):
        def after_step(self, trainer, metrics):
            if ctx.is_main:
                print(f"STEP {trainer.step} {metrics['loss']!r}", flush=True)
            if trainer.step == args.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    params = toy_train_params(iterations=args.steps, samples_per_forward=args.samples_per_forward)
    if args.lr is not None:
        params = dataclasses.replace(params, base_lr=args.lr, warmup_iters=0, warmup_lr_init=0.0)
    out = args.out / f"rank{ctx.rank}" if args.out_per_rank else args.out
    if not (args.workspace / "dataset_json_annotations").is_dir():
        make_toy_workspace(args.workspace)
    model_params = toy_model_params()
    if args.backbone:
        model_params = dataclasses.replace(model_params, backbone=args.backbone)
    trainer_box = {}

    class Keep(Hook):
        def after_train(self, trainer):
            trainer_box["model"] = trainer.model

    train(args.regime, model_params=model_params, params=params, seed=0, workspace=args.workspace,
          out_dir=out, resume=not args.no_resume, ctx=ctx, hooks=[Report(), Keep()], progress=False)  # fmt: skip
    if args.dump_params:
        model = trainer_box["model"]
        state = {k: v.detach().clone() for k, v in model.named_parameters()}  # BN buffers are per rank
        torch.save(state, f"{args.dump_params}.rank{ctx.rank}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main())
