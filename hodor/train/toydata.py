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
