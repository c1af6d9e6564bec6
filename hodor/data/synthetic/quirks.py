"""``hodor synthesize --quirks``: add to a synthetic raw workspace one item per quirk the real datasets have.

Every quirk is a NEW item (an extra annotation, a copied image, sequence or video with one defect), so the
clean synthetic data stays whole and the pipeline can still train and score on it; the converters must
skip or repair exactly these items and say so in their reports. Each quirk is written in the real raw
layout (COCO instances JSON, DAVIS 2017 folders and split lists, YouTube-VOS meta.json + PNGs).

:data:`QUIRKS` is the corpus: per quirk, the file it lives in, the item, and what the converter does.
The list is also stored in the synthetic marker, so tests and users can check each report line.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from hodor.atomic import write_json, write_text
from hodor.data.palette import read_label_png, write_label_png, youtube_vos_palette

EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Quirk:
    """``dataset``: the official name whose conversion meets it; ``item``: how its report line names
    it; ``action``: ``skipped`` or ``repaired``."""

    name: str
    dataset: str
    item: str
    action: str
    what: str


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(64, path.stat().st_size // 3)])


def _coco(root: Path) -> list[Quirk]:
    path = root / "annotations" / "instances_train2017.json"
    data = json.loads(path.read_text())
    images = {i["id"]: i for i in data["images"]}
    first = data["annotations"][0]
    image = images[first["image_id"]]
    h, w = image["height"], image["width"]
    next_ann = max(a["id"] for a in data["annotations"]) + 1
    quirks: list[Quirk] = []

    def add_ann(name: str, action: str, what: str, image_id: int, item: str = "", **fields: object) -> None:
        nonlocal next_ann
        ann = {"id": next_ann, "image_id": image_id, "category_id": first["category_id"], "iscrowd": 0,
               "area": 1.0, "bbox": [0, 0, 1, 1], "segmentation": [[1, 1, 5, 1, 5, 5]], **fields}  # fmt: skip
        data["annotations"].append(ann)
        item = item or f"annotation id {next_ann} (image id {image_id})"
        quirks.append(Quirk(name, "coco_2017_train", item, action, what))
        next_ann += 1

    outside = [w + 10, h + 10, w + 20, h + 10, w + 20, h + 20]
    add_ann("coco polygon rasterising to nothing", "skipped", "a polygon entirely outside its image",
            image["id"], segmentation=[outside])  # fmt: skip
    add_ann("coco polygon with fewer than 3 points", "skipped", "its only polygon has 2 points",
            image["id"], segmentation=[[1, 1, 6, 6]])  # fmt: skip
    add_ann("coco extra degenerate polygon", "repaired", "a good polygon plus one of 2 points (dropped)",
            image["id"], segmentation=[[1, 1, 9, 1, 9, 9], [2, 2, 3, 3]])  # fmt: skip
    add_ann("coco unknown category", "skipped", "category_id 999 is not in 'categories'",
            image["id"], item=f"annotation id {next_ann}", category_id=999)  # fmt: skip
    next_image = max(images) + 1
    for name, what, damage in (
        ("coco corrupt image", "a truncated JPEG", _truncate),
        ("coco size mismatch", "height/width in the JSON one pixel taller than the file", None),
        ("coco EXIF-rotated image", "EXIF orientation 6: OpenCV turns it to WxH", _exif_rotate),
    ):
        file_name = f"{next_image:012d}.jpg"
        shutil.copyfile(root / "train2017" / image["file_name"], root / "train2017" / file_name)
        entry = {**image, "id": next_image, "file_name": file_name}
        if damage is None:
            entry["height"] = h + 1
        else:
            damage(root / "train2017" / file_name)
        data["images"].append(entry)
        data["annotations"].append({**first, "id": next_ann, "image_id": next_image})
        next_ann += 1
        quirks.append(Quirk(name, "coco_2017_train", f"image id {next_image}", "skipped", what))
        next_image += 1
    write_json(path, data)
    return quirks


def _exif_rotate(path: Path) -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    with Image.open(path) as image:
        image.load()
        image.save(path, exif=exif.tobytes(), quality=90)


def _copy_davis(root: Path, source: str, name: str) -> None:
    for kind in ("JPEGImages", "Annotations"):
        shutil.copytree(root / kind / "480p" / source, root / kind / "480p" / name)


def _davis(root: Path) -> list[Quirk]:
    split = root / "ImageSets" / "2017" / "train.txt"
    names = split.read_text().split()
    source = names[0]
    gap, corrupt = f"{source}-idgap", f"{source}-corrupt"
    _copy_davis(root, source, gap)
    for png in sorted((root / "Annotations" / "480p" / gap).glob("*.png")):
        labels = read_label_png(png)
        labels[labels == 1] = 9  # ids now skip 1 (and 2.. up to 8 where absent)
        write_label_png(png, labels)
    _copy_davis(root, source, corrupt)
    frames = sorted((root / "JPEGImages" / "480p" / corrupt).glob("*.jpg"))
    _truncate(frames[len(frames) // 2])
    write_text(split, "".join(f"{n}\n" for n in [*names, gap, corrupt]))
    return [
        Quirk("davis ids skipping a number", "davis_train", f"sequence {gap}", "repaired",
              "object 1 relabelled 9 in every PNG: ids kept as they are"),
        Quirk("davis unreadable frame", "davis_train", f"sequence {corrupt}", "skipped",
              "a truncated JPEG in the middle: the sequence is skipped whole"),
    ]  # fmt: skip


def _youtube_vos(root: Path) -> list[Quirk]:
    split = root / "train"
    meta = json.loads((split / "meta.json").read_text())
    source = sorted(meta["videos"])[0]
    entry = meta["videos"][source]
    quirks: list[Quirk] = []

    def copy(suffix: str) -> tuple[str, dict]:
        vid = f"{source[:6]}{suffix}"
        for kind in ("JPEGImages", "Annotations"):
            shutil.copytree(split / kind / source, split / kind / vid)
        meta["videos"][vid] = json.loads(json.dumps(entry))
        return vid, meta["videos"][vid]

    vid, e = copy("q001")
    e["objects"]["9"] = {"category": next(iter(e["objects"].values()))["category"], "frames": ["00000"]}
    quirks.append(Quirk("youtube-vos object in meta.json absent from every PNG", "youtube_vos_2019_train",
                        f"video {vid}, object 9", "skipped", "meta.json lists object 9; no PNG holds it"))  # fmt: skip
    vid, e = copy("q002")
    png = sorted((split / "Annotations" / vid).glob("*.png"))[0]
    labels = read_label_png(png)
    labels[:4, :4] = 200
    write_label_png(png, labels, youtube_vos_palette())
    quirks.append(Quirk("youtube-vos PNG id not in meta.json", "youtube_vos_2019_train",
                        f"video {vid}, frame {png.stem}", "repaired", "id 200 painted in a PNG: dropped"))  # fmt: skip
    vid, e = copy("q003")
    key = sorted(e["objects"])[0]
    frames = e["objects"][key]["frames"]
    e["objects"][key]["frames"] = [*frames, frames[0]]
    quirks.append(Quirk("youtube-vos frame name listed twice", "youtube_vos_2019_train",
                        f"video {vid}, object {key}", "repaired", "a frame repeated in 'frames': once"))  # fmt: skip
    vid, e = copy("q004")
    frames_on_disk = sorted((split / "JPEGImages" / vid).glob("*.jpg"))
    _truncate(frames_on_disk[len(frames_on_disk) // 2])
    quirks.append(Quirk("youtube-vos unreadable frame", "youtube_vos_2019_train", f"video {vid}", "skipped",
                        "a truncated JPEG: the video is skipped whole"))  # fmt: skip
    write_json(split / "meta.json", meta)
    return quirks


def add_quirks(out: Path) -> list[dict]:
    """Add every quirk to the synthetic raw workspace ``out`` (``coco/``, ``DAVIS/``, ``youtube_vos/``);
    -> the corpus as plain dicts (one per quirk) for the marker."""
    out = Path(out)
    quirks = _coco(out / "coco") + _davis(out / "DAVIS") + _youtube_vos(out / "youtube_vos")
    return [asdict(q) for q in quirks]


def quirk_table(quirks: list[dict]) -> str:
    """The corpus as a Markdown table (what the README and the closing note show)."""
    rows = [f"| {q['name']} | {q['dataset']} | {q['item']} | {q['action']} | {q['what']} |" for q in quirks]
    return "\n".join(["| quirk | dataset | item | action | how it is made |", "|---|---|---|---|---|", *rows])
