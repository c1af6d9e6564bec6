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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from hodor.convert.policy import ItemLog
from hodor.convert.validate import check_image, check_name, check_not_empty, check_unique
from hodor.data.standard_json import read_json
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
    strict: bool = True


def _polygons(segm: list, height: int, width: int, on_repair: Callable[[str], None] | None) -> dict[str, Any]:
    """Polygons -> one merged RLE. A polygon of fewer than 3 points (< 6 numbers, or an odd count) cannot
    be rasterised: strict (``on_repair`` None) refuses it, else it is dropped from its annotation."""
    good = [p for p in segm if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
    if len(good) != len(segm):
        if on_repair is None or not good:
            raise ValueError("a polygon needs an even number (>= 6) of coordinates")
        on_repair(f"dropped {len(segm) - len(good)} of {len(segm)} polygons (fewer than 3 points)")
    rles = mask_utils.frPyObjects(good, height, width)
    return rles[0] if len(rles) == 1 else mask_utils.merge(rles)  # a merge of one is the same RLE


def annotation_rle(
    ann: dict[str, Any],
    height: int,
    width: int,
    where: str,
    on_repair: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One COCO annotation's segmentation -> compressed RLE dict (as COCO.annToRLE). ``on_repair``:
    called with the reason when a degenerate polygon is dropped (None: refuse it)."""
    segm = ann.get("segmentation")
    try:
        if isinstance(segm, list):  # polygons: one RLE per polygon, merged
            if not segm:  # no polygon at all: an empty mask (refused or skipped by the caller)
                return mask_utils.encode(np.zeros((height, width), np.uint8, order="F"))
            return _polygons(segm, height, width, on_repair)
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


def _check_image_file(task: ImageTask, image: dict[str, Any], where: str) -> None:
    """The file decodes (with EXIF orientation applied, as training reads it) to the annotated size."""
    height, width = image["height"], image["width"]
    disk = check_image(task.image_dir / image["file_name"], where)
    if disk != (height, width):
        raise InputError(
            f"{where}: fields height/width say {height}x{width} but the file is {disk[0]}x{disk[1]}; "
            "the annotation file and the image do not match (use the images of the same COCO release)"
        )


def _object(task: ImageTask, ann: dict[str, Any], image: dict[str, Any], where: str, log: ItemLog):
    """One annotation -> (category, counts, area, box), or None when it is skipped (logged)."""
    where = f"{where}, annotation id {ann.get('id')}"
    item = f"annotation id {ann.get('id')} (image id {image['id']})"

    def on_repair(reason: str) -> None:
        log.repair(task.source, item, reason)

    try:
        rle = annotation_rle(ann, image["height"], image["width"], where, None if task.strict else on_repair)
        area = int(mask_utils.area(rle))
        if area == 0 and not task.skip_empty:
            raise InputError(
                f"{where}: field 'segmentation' decodes to an empty mask; fix or delete the annotation "
                "(or pass --skip-empty-masks to drop such annotations)"
            )
    except InputError as err:
        if task.strict:
            raise
        log.skip("annotations", task.source, item, str(err))
        return None
    if area == 0:  # --skip-empty-masks: asked for, so a filter
        log.filtered["empty masks (--skip-empty-masks)"] += 1
        return None
    return ann["category_id"], rle["counts"].decode("ascii"), area, [float(v) for v in mask_utils.toBbox(rle)]


def convert_images(task: ImageTask) -> tuple[list[dict[str, Any]], ItemLog]:
    """Images of one chunk -> (image records, what was skipped). Runs in a worker process."""
    records, log = [], ItemLog()
    for image, anns in zip(task.images, task.annotations, strict=True):
        where = f"{task.source}: image id {image['id']} ({image['file_name']})"
        log.totals["images"] += 1
        try:
            _check_image_file(task, image, where)
        except InputError as err:
            if task.strict:
                raise
            log.skip("images", task.image_dir / image["file_name"], f"image id {image['id']}", str(err))
            continue
        record: dict[str, Any] = {"id": image["id"], "height": image["height"], "width": image["width"],
                                  "image_path": image["file_name"], "categories": [], "segmentations": [],
                                  "areas": [], "bboxes": [], "iscrowd": []}  # fmt: skip
        for ann in anns:
            obj = _object(task, ann, image, where, log)
            if obj is None:
                continue
            for key, value in zip(("categories", "segmentations", "areas", "bboxes"), obj, strict=True):
                record[key].append(value)
            record["iscrowd"].append(0)
        if record["segmentations"]:
            records.append(record)
        else:
            log.filtered["images without objects"] += 1
    return records, log


def _annotation_problem(ann: dict, known: set, labels: dict[int, str], path: Path) -> str | None:
    if ann.get("image_id") not in known:
        return (f"{path}: annotation id {ann.get('id')}: field 'image_id' {ann.get('image_id')!r} names no "
                "image in 'images' (missing image for an annotation); use a complete annotation file")  # fmt: skip
    if ann.get("category_id") not in labels:
        return (f"{path}: annotation id {ann.get('id')}: field 'category_id' "
                f"{ann.get('category_id')!r} is not in 'categories'")  # fmt: skip
    return None


def _index(
    path: Path, data: Any, strict: bool, log: ItemLog
) -> tuple[list[dict], dict[Any, list[dict]], dict[int, str]]:
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
        if ann.get("iscrowd", 0):
            log.filtered["crowd annotations"] += 1
            continue
        log.totals["annotations"] += 1
        problem = _annotation_problem(ann, known, labels, path)
        if problem and strict:
            raise InputError(problem)
        if problem:
            log.skip("annotations", path, f"annotation id {ann.get('id')}", problem)
            continue
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
    strict: bool = True,
):
    """COCO root (or explicit annotation file / image folder) -> (JSON doc, image folder, counts, log)."""
    ann_path = Path(annotations) if annotations else Path(root) / ANNOTATIONS
    image_dir = Path(images) if images else Path(root) / IMAGES
    log = ItemLog()
    entries, per_image, labels = _index(ann_path, read_json(ann_path), strict, log)
    entries = sorted(entries, key=lambda i: i["id"] if isinstance(i["id"], int) else str(i["id"]))
    tasks = [
        ImageTask(
            image_dir,
            str(ann_path),
            chunk,
            [per_image.get(i["id"], []) for i in chunk],
            skip_empty_masks,
            strict,
        )
        for chunk in (entries[k : k + CHUNK] for k in range(0, len(entries), CHUNK))
    ]
    results = parallel_map(convert_images, tasks, workers=workers, weights=[len(t.images) for t in tasks],
                           desc="COCO", unit="image", progress=progress)  # fmt: skip
    records = [r for chunk, _ in results for r in chunk]
    for _, chunk_log in results:
        log.merge(chunk_log)
    check_not_empty(
        len(records), str(ann_path), "no image has a non-crowd object", "use a complete annotation file"
    )
    doc = {"meta": {"category_labels": {str(k): v for k, v in sorted(labels.items())}, "source": "COCO 2017 train"},
           "images": records}  # fmt: skip
    counts = (len(records), len(entries), sum(len(r["segmentations"]) for r in records))
    return doc, image_dir, counts, log
