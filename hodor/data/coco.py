"""COCO 2017 reader: ``annotations/instances_train2017.json`` + ``train2017/*.jpg`` -> image-dataset JSON.

Each non-crowd annotation becomes one object: polygons (merged with ``frPyObjects`` + ``merge``),
uncompressed RLE (``frPyObjects``) and compressed RLE are turned into the compressed counts string exactly
as ``COCO.annToRLE`` does, so every mask equals ``COCO.annToMask``. ``iscrowd = 1`` annotations are skipped
(crowd regions are not objects to track). Areas are pixel counts and boxes ``[x, y, w, h]`` of the mask
(``pycocotools.mask.area`` / ``toBbox``), as the official loader computes them. Images left without any
object are not written (the official loader would drop them anyway).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from hodor.data.standard_json import read_json
from hodor.data.validate import check_image, check_name, check_not_empty, check_unique
from hodor.errors import InputError
from hodor.parallel import parallel_map

ANNOTATIONS = Path("annotations") / "instances_train2017.json"
IMAGES = Path("train2017")
CHUNK = 256  # images per worker task: big enough to hide the inter-process overhead


@dataclass(frozen=True)
class ImageTask:
    image_dir: Path
    source: str  # the annotation file, for messages
    images: list[dict[str, Any]]  # COCO image entries
    annotations: list[list[dict[str, Any]]]  # non-crowd annotations of each image
    skip_empty: bool


def annotation_rle(ann: dict[str, Any], height: int, width: int, where: str) -> dict[str, Any]:
    """One COCO annotation's segmentation -> compressed RLE dict (as COCO.annToRLE)."""
    segm = ann.get("segmentation")
    try:
        if isinstance(segm, list):  # polygons: one RLE per polygon, merged
            polygons = [p for p in segm if isinstance(p, list)]
            if not segm:  # no polygon at all: an empty mask (refused or skipped by the caller)
                return mask_utils.encode(np.zeros((height, width), np.uint8, order="F"))
            if len(polygons) != len(segm) or any(len(p) < 6 or len(p) % 2 for p in polygons):
                raise ValueError("a polygon needs an even number (>= 6) of coordinates")
            rles = mask_utils.frPyObjects(polygons, height, width)
            return rles[0] if len(rles) == 1 else mask_utils.merge(rles)  # merge of one: the same RLE
        if isinstance(segm, dict) and isinstance(segm.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(segm, *segm["size"])
        elif isinstance(segm, dict) and isinstance(segm.get("counts"), (str, bytes)):
            counts = segm["counts"]
            rle = {
                "size": segm["size"],
                "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
            }
        else:
            raise ValueError(f"unsupported segmentation {type(segm).__name__}")
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(
            f"{where}: field 'segmentation' cannot be read ({err}); fix or remove the annotation"
        ) from None
    if list(rle["size"]) != [height, width]:
        raise InputError(
            f"{where}: field 'segmentation' has size {list(rle['size'])} (HxW) but the image is "
            f"{height}x{width}; the RLE must have the image's size"
        )
    return rle


def convert_images(task: ImageTask) -> tuple[list[dict[str, Any]], int]:
    """Images of one chunk -> (image records, number of empty masks skipped). Runs in a worker process."""
    records, skipped = [], 0
    for image, anns in zip(task.images, task.annotations, strict=True):
        where = f"{task.source}: image id {image['id']} ({image['file_name']})"
        height, width = image["height"], image["width"]
        disk = check_image(task.image_dir / image["file_name"], where)
        if disk != (height, width):
            raise InputError(
                f"{where}: fields height/width say {height}x{width} but the file is {disk[0]}x{disk[1]}; "
                "the annotation file and the image do not match (use the images of the same COCO release)"
            )
        record: dict[str, Any] = {"id": image["id"], "height": height, "width": width,
                                  "image_path": image["file_name"], "categories": [], "segmentations": [],
                                  "areas": [], "bboxes": [], "iscrowd": []}  # fmt: skip
        for ann in anns:
            rle = annotation_rle(ann, height, width, f"{where}, annotation id {ann.get('id')}")
            area = int(mask_utils.area(rle))
            if area == 0:
                if task.skip_empty:
                    skipped += 1
                    continue
                raise InputError(
                    f"{where}, annotation id {ann.get('id')}: field 'segmentation' decodes to an empty mask; "
                    "fix or delete the annotation (or pass --skip-empty-masks to drop such annotations)"
                )
            record["categories"].append(ann["category_id"])
            record["segmentations"].append(rle["counts"].decode("ascii"))
            record["areas"].append(area)
            record["bboxes"].append([float(v) for v in mask_utils.toBbox(rle)])
            record["iscrowd"].append(0)
        if record["segmentations"]:
            records.append(record)
    return records, skipped


def _index(path: Path, data: Any) -> tuple[list[dict], dict[Any, list[dict]], dict[int, str]]:
    """Check the top level of an instances JSON; -> (images, non-crowd annotations per image id, labels)."""
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations")
    ):
        raise InputError(f"{path}: fields 'images' and 'annotations' must be lists (a COCO instances JSON)")
    images = data["images"]
    check_not_empty(len(images), str(path), "split is empty ('images' has no entry)", "use the full file")
    for image in images:
        for field in ("id", "file_name", "height", "width"):
            if field not in image:
                raise InputError(f"{path}: image {image.get('id', '?')!r}: field {field!r} missing")
        check_name(image["file_name"], f"{path}: image id {image['id']}", "file_name")
    check_unique([str(i["id"]) for i in images], str(path), "image id")
    check_unique([i["file_name"] for i in images], str(path), "image file_name")
    labels = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
    known = {i["id"] for i in images}
    per_image: dict[Any, list[dict]] = defaultdict(list)
    for ann in data["annotations"]:
        if ann.get("image_id") not in known:
            raise InputError(
                f"{path}: annotation id {ann.get('id')}: field 'image_id' {ann.get('image_id')!r} names no "
                "image in 'images' (missing image for an annotation); use a complete annotation file"
            )
        if ann.get("category_id") not in labels:
            raise InputError(f"{path}: annotation id {ann.get('id')}: field 'category_id' "
                             f"{ann.get('category_id')!r} is not in 'categories'")  # fmt: skip
        if not ann.get("iscrowd", 0):
            per_image[ann["image_id"]].append(ann)
    return images, per_image, labels


def convert(
    root: Path,
    *,
    annotations: Path | None = None,
    images: Path | None = None,
    workers: int = 2,
    progress: bool = True,
    skip_empty_masks: bool = False,
):
    """COCO root (or explicit annotation file / image folder) -> (JSON doc, image folder, counts)."""
    ann_path = Path(annotations) if annotations else Path(root) / ANNOTATIONS
    image_dir = Path(images) if images else Path(root) / IMAGES
    entries, per_image, labels = _index(ann_path, read_json(ann_path))
    entries = sorted(entries, key=lambda i: i["id"] if isinstance(i["id"], int) else str(i["id"]))
    tasks = [
        ImageTask(
            image_dir, str(ann_path), chunk, [per_image.get(i["id"], []) for i in chunk], skip_empty_masks
        )
        for chunk in (entries[k : k + CHUNK] for k in range(0, len(entries), CHUNK))
    ]
    results = parallel_map(convert_images, tasks, workers=workers, weights=[len(t.images) for t in tasks],
                           desc="COCO", unit="image", progress=progress)  # fmt: skip
    records = [r for chunk, _ in results for r in chunk]
    check_not_empty(
        len(records), str(ann_path), "no image has a non-crowd object", "use a complete annotation file"
    )
    doc = {"meta": {"category_labels": {str(k): v for k, v in sorted(labels.items())}, "source": "COCO 2017 train"},
           "images": records}  # fmt: skip
    counts = (len(records), len(entries), sum(len(r["segmentations"]) for r in records))
    return doc, image_dir, counts
