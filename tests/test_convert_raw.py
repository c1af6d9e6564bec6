"""Tiny raw datasets in the real layouts (DAVIS 2017, YouTube-VOS 2019, COCO 2017), for the converter tests.

Helpers only (imported by tests/test_convert*.py) plus a check that the helpers write what they claim.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from hodor.data.palette import davis_palette, write_label_png, youtube_vos_palette

H, W = 24, 32


def frame_labels(t: int, n_objects: int, h: int = H, w: int = W, first: int = 1) -> np.ndarray:
    """A uint8 [h, w] id map with ``n_objects`` moving boxes (ids first..first+n-1; odd shapes on purpose)."""
    labels = np.zeros((h, w), np.uint8)
    for k in range(n_objects):
        y, x = 2 + 5 * k % (h - 6), (3 * t + 7 * k) % (w - 6)
        labels[y : y + 4 + k, x : x + 5] = first + k
    return labels


def write_jpeg(path: Path, h: int = H, w: int = W, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path, quality=90)


def make_davis(root: Path, splits: dict[str, dict[str, int]] | None = None, frames: int = 4) -> Path:
    """DAVIS/{JPEGImages,Annotations}/480p/<seq>/NNNNN.{jpg,png} + ImageSets/2017/<split>.txt.

    ``splits``: split -> {sequence: number of objects}.
    """
    splits = splits or {"train": {"bear": 2, "camel": 1}, "val": {"dog": 3}}
    for split, seqs in splits.items():
        (root / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "2017" / f"{split}.txt").write_text("".join(f"{s}\n" for s in seqs))
        for seq, n in seqs.items():
            for t in range(frames):
                write_jpeg(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg", seed=t)
                write_label_png(root / "Annotations" / "480p" / seq / f"{t:05d}.png", frame_labels(t, n))
    return root


def make_youtube_vos(root: Path, split: str = "train", videos: dict[str, int] | None = None) -> Path:
    """youtube_vos/<split>/{JPEGImages,Annotations}/<video>/NNNNN.{jpg,png} + meta.json.

    train: every frame annotated; valid: object k first appears at frame k-1 and only that frame's PNG
    exists, holding just the new object (as in the real valid split).
    """
    videos = videos or {"0a49f5265b": 2, "1b2c3d4e5f": 1}
    split_root = root / split
    meta: dict = {"videos": {}}
    for v, (video, n) in enumerate(sorted(videos.items())):
        objects = {}
        for t in range(4):
            stem = f"{5 * t:05d}"
            write_jpeg(split_root / "JPEGImages" / video / f"{stem}.jpg", seed=t)
            labels = frame_labels(t, n)
            if split == "valid":
                labels = np.where(labels == t + 1, labels, 0).astype(np.uint8)
                if t >= n:
                    continue
            write_label_png(split_root / "Annotations" / video / f"{stem}.png", labels, youtube_vos_palette())
        for k in range(1, n + 1):
            first = 0 if split == "train" else k - 1
            objects[str(k)] = {"category": ["dog", "ape", "cat"][(k + v) % 3],
                               "frames": [f"{5 * t:05d}" for t in range(first, 4)]}  # fmt: skip
        meta["videos"][video] = {"objects": objects}
    (split_root / "meta.json").write_text(json.dumps(meta))
    return root


def make_coco(root: Path) -> Path:
    """coco/annotations/instances_train2017.json + coco/train2017/*.jpg with polygon, uncompressed-RLE,
    compressed-RLE and crowd annotations, and one image without annotations."""
    images, anns = [], []
    for i, (h, w) in enumerate([(H, W), (20, 28), (H, W)], start=1):
        name = f"{i:012d}.jpg"
        write_jpeg(root / "train2017" / name, h, w, seed=i)
        images.append({"id": i, "file_name": name, "height": h, "width": w})
    block = np.zeros((H, W), np.uint8, order="F")
    block[3:9, 4:15] = 1
    compressed = mask_utils.encode(np.asfortranarray(block))
    uncompressed = {"size": [H, W], "counts": _uncompressed_counts(block)}
    anns = [
        {"id": 10, "image_id": 1, "category_id": 1, "iscrowd": 0,
         "segmentation": [[2.0, 2.0, 20.5, 3.0, 15.0, 18.0], [22, 15, 30, 15, 30, 22, 22, 22]]},
        {"id": 11, "image_id": 1, "category_id": 18, "iscrowd": 0,
         "segmentation": {"size": [H, W], "counts": compressed["counts"].decode("ascii")}},
        {"id": 12, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": uncompressed},
        {"id": 13, "image_id": 2, "category_id": 18, "iscrowd": 0,
         "segmentation": [[1, 1, 10, 1, 10, 12, 1, 12]]},
        {"id": 14, "image_id": 1, "category_id": 18, "iscrowd": 0, "segmentation": uncompressed},
    ]  # fmt: skip
    data = {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]}  # fmt: skip
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(data))
    return root


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    """Run lengths over the column-major pixels, starting with a (possibly empty) run of zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def test_helpers_write_the_real_layouts(tmp_path: Path) -> None:
    davis = make_davis(tmp_path / "DAVIS")
    png = davis / "Annotations" / "480p" / "bear" / "00000.png"
    with Image.open(png) as image:
        assert image.mode == "P" and image.size == (W, H)
        assert image.getpalette()[3:6] == davis_palette()[1].tolist()
    yt = make_youtube_vos(tmp_path / "youtube_vos", "valid")
    assert sorted(p.name for p in (yt / "valid" / "Annotations" / "0a49f5265b").iterdir()) == [
        "00000.png",
        "00005.png",
    ]
    coco = make_coco(tmp_path / "coco")
    assert (
        len(json.loads((coco / "annotations" / "instances_train2017.json").read_text())["annotations"]) == 5
    )
    block = np.zeros((4, 3), np.uint8)
    block[1:3, 1] = 1
    rle = mask_utils.frPyObjects({"size": [4, 3], "counts": _uncompressed_counts(block)}, 4, 3)
    np.testing.assert_array_equal(mask_utils.decode(rle), block)
