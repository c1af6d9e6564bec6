"""Synthetic data at the real datasets' counts for ``benchmarks/paper_scale.py``.

* standardized JSONs (``workspace/dataset_json_annotations``): COCO 2017 train (118,287 images, 860,001
  objects), YouTube-VOS 2019 train (3,471 videos, only the every-5th annotated frames as in its train
  folder, ~94,000 frames, ~6,500 objects), DAVIS 2017 trainval (90 sequences, 6,208 frames);
* a raw COCO annotation file (polygons, as the real one) at the same counts, with ``train2017/`` made of
  hard links to a few hundred real-size JPEGs, for the converter;
* a flat folder of 120,000 small distinct files for ``dvc status``.

Masks are random star-shaped polygons with log-uniform areas (200 px to 30 % of the image), so RLE strings
have realistic lengths (COCO: ~350 characters). A pool of polygons per image size is encoded once and
reused: records are distinct JSON objects all the same, which is what loading and memory depend on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

COCO_IMAGES, COCO_OBJECTS = 118_287, 860_001
YTVOS_VIDEOS, YTVOS_FRAMES, YTVOS_OBJECTS = 3_471, 94_000, 6_500
DAVIS_SEQUENCES, DAVIS_FRAMES, DAVIS_OBJECTS = 90, 6_208, 205
COCO_SIZES = ((480, 640), (427, 640), (640, 480), (640, 427))  # (h, w) classes, the common COCO shapes
COCO_SIZE_SHARES = (0.5, 0.2, 0.2, 0.1)
YTVOS_SIZE, DAVIS_SIZE = (720, 1280), (480, 854)
POOL_IMAGES = 60  # JPEGs per size class on disk (all records share them)
POOL_MASKS = 400  # encoded polygons per size class
DVC_FILES = 120_000


def random_polygon(rng: np.random.Generator, h: int, w: int) -> list[float]:
    """A star-shaped polygon [x0, y0, x1, y1, ...] with a log-uniform area between 200 px and 0.3 h w."""
    area = np.exp(rng.uniform(np.log(200), np.log(0.3 * h * w)))
    radius = np.sqrt(area / np.pi)
    cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
    k = int(rng.integers(12, 40))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radii = radius * rng.uniform(0.6, 1.3, k)
    xs = np.clip(cx + radii * np.cos(angles), 0, w - 1)
    ys = np.clip(cy + radii * np.sin(angles), 0, h - 1)
    return [round(float(v), 2) for xy in zip(xs, ys, strict=True) for v in xy]


def mask_pool(rng: np.random.Generator, h: int, w: int, n: int = POOL_MASKS) -> list[dict]:
    """``n`` polygons with their compressed RLE counts, area and box (as the converter computes them)."""
    pool = []
    while len(pool) < n:
        poly = random_polygon(rng, h, w)
        rle = mask_utils.merge(mask_utils.frPyObjects([poly], h, w))
        area = int(mask_utils.area(rle))
        if area:
            box = [float(v) for v in mask_utils.toBbox(rle)]
            pool.append({"poly": poly, "seg": rle["counts"].decode("ascii"), "area": area, "box": box})
    return pool


def write_jpegs(rng: np.random.Generator, folder: Path, prefix: str, h: int, w: int, n: int) -> list[str]:
    """``n`` textured JPEGs of h x w (file sizes like real photos); returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        base = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        smooth = np.kron(base, np.ones((16, 16, 1), np.uint8))[:h, :w]
        image = np.clip(smooth.astype(np.int16) + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)
        name = f"{prefix}_{h}x{w}_{i:03d}.jpg"
        Image.fromarray(image).save(folder / name, quality=90)
        names.append(name)
    return names


def spread(rng: np.random.Generator, total: int, parts: int, low: int, high: int) -> np.ndarray:
    """``parts`` integers in [low, high] summing to ``total`` (random, roughly uniform)."""
    counts = rng.integers(low, high + 1, parts)
    while (diff := int(total - counts.sum())) != 0:
        idx = np.unique(rng.integers(0, parts, min(abs(diff), parts)))  # unique: one step each
        step = 1 if diff > 0 else -1
        ok = (counts[idx] + step >= low) & (counts[idx] + step <= high)
        np.add.at(counts, idx[ok], step)
    return counts


def write_coco(ws: Path, raw: Path, scale: float, rng: np.random.Generator) -> dict:
    """Standardized COCO JSON + the raw COCO annotation files at ``scale`` and ``scale / 2``."""
    pool_dir = ws / "dataset_images" / "coco_2017_train"
    n_images, n_objects = max(8, round(COCO_IMAGES * scale)), max(40, round(COCO_OBJECTS * scale))
    classes = rng.choice(len(COCO_SIZES), n_images, p=COCO_SIZE_SHARES)
    files = [write_jpegs(rng, pool_dir, "coco", h, w, POOL_IMAGES) for h, w in COCO_SIZES]
    pools = [mask_pool(rng, h, w) for h, w in COCO_SIZES]
    per_image = spread(rng, n_objects, n_images, 1, 14)
    records, raw_images, raw_anns = [], [], []
    for i in range(n_images):
        c = int(classes[i])
        h, w = COCO_SIZES[c]
        objs = [pools[c][j] for j in rng.integers(0, POOL_MASKS, per_image[i])]
        image_path = files[c][i % POOL_IMAGES]
        records.append({"id": i, "height": h, "width": w, "image_path": image_path,
                        "categories": [1 + j % 80 for j in range(len(objs))],
                        "segmentations": [o["seg"] for o in objs], "areas": [o["area"] for o in objs],
                        "bboxes": [o["box"] for o in objs], "iscrowd": [0] * len(objs)})  # fmt: skip
        raw_images.append(
            {"id": i, "file_name": f"{i:012d}.jpg", "height": h, "width": w, "pool": image_path}
        )
        for o in objs:
            raw_anns.append({"id": len(raw_anns), "image_id": i, "category_id": 1, "iscrowd": 0,
                             "segmentation": [o["poly"]], "area": o["area"], "bbox": o["box"]})  # fmt: skip
    labels = {str(k): f"class{k}" for k in range(1, 81)}
    write_doc(ws / "dataset_json_annotations" / "coco_2017_train.json",
              {"meta": {"category_labels": labels}, "images": records})  # fmt: skip
    write_raw_coco(raw, pool_dir, raw_images, raw_anns)
    return {"images": n_images, "objects": n_objects}


def write_raw_coco(raw: Path, pool_dir: Path, images: list[dict], anns: list[dict]) -> None:
    """``raw/coco/train2017`` (hard links into the pool) and two annotation files: all images and half."""
    folder = raw / "coco" / "train2017"
    folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        os.link(pool_dir / image["pool"], folder / image["file_name"])
    categories = [{"id": 1, "name": "thing"}]
    half = len(images) // 2
    for name, subset in (("instances_train2017.json", images), ("instances_half.json", images[:half])):
        keep = {im["id"] for im in subset}
        doc = {"images": [{k: v for k, v in im.items() if k != "pool"} for im in subset],
               "annotations": [a for a in anns if a["image_id"] in keep], "categories": categories}  # fmt: skip
        write_doc(raw / "coco" / "annotations" / name, doc)


def write_videos(ws: Path, name: str, folder: str, counts: tuple[int, int, int], size: tuple[int, int],
                 scale: float, rng: np.random.Generator) -> dict:  # fmt: skip
    """A union-shape video JSON (training tracks + reference segmentations), every frame annotated."""
    videos, frames, objects = (max(2, round(c * scale)) for c in counts)
    h, w = size
    names = write_jpegs(rng, ws / "dataset_images" / folder, name, h, w, POOL_IMAGES)
    pool = mask_pool(rng, h, w)
    lengths = spread(
        rng, max(frames, videos * 5), videos, 5, max(5, 2 * frames // videos)
    )  # >= 5 at any scale
    n_objects = spread(rng, max(objects, videos), videos, 1, 5)
    sequences = []
    for v in range(videos):
        ids = list(range(1, int(n_objects[v]) + 1))
        tracks = [{str(k): {key: pool[j][key] for key in ("box", "seg", "area")}
                   for k, j in zip(ids, rng.integers(0, POOL_MASKS, len(ids)), strict=True)}
                  for _ in range(int(lengths[v]))]  # fmt: skip
        sequences.append({
            "id": f"{name}{v:05d}", "height": h, "width": w,
            "image_paths": [names[(v + t) % POOL_IMAGES] for t in range(int(lengths[v]))],
            "categories": {str(k): 1 for k in ids}, "tracks": tracks,
            "segmentations": {"0": {str(k): tracks[0][str(k)]["seg"] for k in ids}},
        })  # fmt: skip
    write_doc(ws / "dataset_json_annotations" / f"{name}.json", {"meta": {"category_labels": {"1": "thing"}},
                                                                "sequences": sequences})  # fmt: skip
    return {"videos": videos, "frames": int(lengths.sum()), "objects": int(n_objects.sum())}


def write_dvc_tree(folder: Path, n: int) -> None:
    """``n`` distinct small JPEG-like files (a 16x16 JPEG plus 8 distinct trailing bytes each)."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buf, format="JPEG")
    template = buf.getvalue()
    for i in range(n):
        (folder / f"{i:012d}.jpg").write_bytes(template + i.to_bytes(8, "little"))


def write_doc(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def make_all(work: Path, scale: float, seed: int = 0) -> dict:
    """Everything under ``work`` (``ws/``, ``raw/``, ``dvc/raw``); returns the counts written."""
    rng = np.random.default_rng(seed)
    ws, raw = work / "ws", work / "raw"
    counts = {"coco": write_coco(ws, raw, scale, rng)}
    counts["youtube_vos"] = write_videos(ws, "youtube_vos_2019_train", "youtube_vos_2019_train",
                                         (YTVOS_VIDEOS, YTVOS_FRAMES, YTVOS_OBJECTS), YTVOS_SIZE, scale, rng)  # fmt: skip
    counts["davis"] = write_videos(ws, "davis_train", "davis_trainval",
                                   (DAVIS_SEQUENCES, DAVIS_FRAMES, DAVIS_OBJECTS), DAVIS_SIZE, scale, rng)  # fmt: skip
    write_dvc_tree(work / "dvc" / "raw", max(100, round(DVC_FILES * scale)))
    return counts
