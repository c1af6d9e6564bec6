"""Every bad raw input of issue 5 fails, under the strict policy, with a message naming file,
sequence/image, field and fix, and never leaves an output (JSON or temp file) behind. (The lenient
policy's skips and repairs of the same inputs are tests/test_convert_quirks.py.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_convert_raw import H, W, make_coco, make_davis, make_youtube_vos, write_jpeg

from hodor.convert.policy import Policy
from hodor.convert.run import convert_to_workspace
from hodor.data.palette import write_label_png
from hodor.errors import InputError

STRICT = Policy(strict=True)
DAVIS_ANN = Path("Annotations/480p/bear")
DAVIS_JPG = Path("JPEGImages/480p/bear")


def assert_fails(tmp_path: Path, name: str, source: Path, *patterns: str, workers: int = 1) -> str:
    ws = tmp_path / "ws"
    with pytest.raises(InputError) as info:
        convert_to_workspace(name, source, ws, workers=workers, progress=False, policy=STRICT)
    message = str(info.value)
    for pattern in patterns:
        assert pattern in message, f"{pattern!r} not in {message!r}"
    out_dir = ws / "dataset_json_annotations"
    left = [p for p in out_dir.glob("*") if not p.name.endswith(".report.json")] if out_dir.exists() else []
    assert not left, f"a (partial) output was left behind: {left}"
    return message


def davis(tmp_path: Path, **kw) -> Path:
    return make_davis(tmp_path / "DAVIS", kw.get("splits", {"train": {"bear": 2}}))


def _rgb_png(root: Path) -> None:
    Image.new("RGB", (W, H), (128, 0, 0)).save(root / DAVIS_ANN / "00002.png")


def _wide_png(root: Path) -> None:
    labels = np.zeros((H, W), np.uint16)
    labels[2:6, 2:6] = 300
    Image.fromarray(labels).save(root / DAVIS_ANN / "00001.png")


def _only_void(root: Path) -> None:
    for png in (root / DAVIS_ANN).iterdir():
        labels = np.zeros((H, W), np.uint8)
        labels[3:9, 3:9] = 255
        write_label_png(png, labels)


def _skipped_id(root: Path) -> None:
    for png in (root / DAVIS_ANN).iterdir():
        labels = np.zeros((H, W), np.uint8)
        labels[3:9, 3:9], labels[12:16, 12:20] = 1, 3
        write_label_png(png, labels)


def _empty(root: Path) -> None:
    for png in (root / DAVIS_ANN).iterdir():
        write_label_png(png, np.zeros((H, W), np.uint8))


DAVIS_CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "missing image": (
        lambda r: (r / DAVIS_JPG / "00003.jpg").unlink(),
        ("sequence 'bear'", "Annotations/480p/bear/00003.png has no image", "restore the image"),
    ),
    "mask size": (
        lambda r: write_label_png(r / DAVIS_ANN / "00001.png", np.zeros((H, W + 1), np.uint8)),
        ("sequence 'bear', frame 00001", "00001.png is 24x33", "image", "is 24x32", "re-export the mask"),
    ),
    "rgb png": (_rgb_png, ("sequence 'bear', frame 00002", "mode 'RGB'", "indexed palette PNG")),
    "id over 255": (_wide_png, ("frame 00001", "ids reach 300 (> 255)", "8-bit palette PNG", "renumber")),
    "only void": (_only_void, ("sequence 'bear'", "only 0 and 255", "void", "replace 255 by 1")),
    "skipped id": (_skipped_id, ("sequence 'bear'", "object ids [1, 3] skip [2]", "renumber")),
    "empty masks": (_empty, ("sequence 'bear'", "every annotation PNG is empty", "draw the objects")),
    "duplicate frame": (
        lambda r: shutil.copy(r / DAVIS_JPG / "00001.jpg", r / DAVIS_JPG / "00001.jpeg"),
        ("sequence 'bear'", "duplicate frame name '00001'", "remove the extra"),
    ),
    "duplicate sequence": (
        lambda r: (r / "ImageSets/2017/train.txt").write_text("bear\nbear\n"),
        ("train.txt", "duplicate sequence 'bear'"),
    ),
    "corrupt jpeg": (
        lambda r: (r / DAVIS_JPG / "00002.jpg").write_bytes((r / DAVIS_JPG / "00002.jpg").read_bytes()[:300]),
        ("sequence 'bear', frame 00002", "00002.jpg is unreadable or corrupt", "re-download"),
    ),
    "corrupt png": (
        lambda r: (r / DAVIS_ANN / "00002.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really"),
        ("sequence 'bear', frame 00002", "00002.png is unreadable or corrupt", "re-download"),
    ),
    "slash in name": (
        lambda r: (r / "ImageSets/2017/train.txt").write_text("bear\nfoo/../../etc\n"),
        ("train.txt", "sequence name 'foo/../../etc'", "one path component"),
    ),
    "dotdot name": (
        lambda r: (r / "ImageSets/2017/train.txt").write_text("..\n"),
        ("train.txt", "sequence name '..'", "one path component"),
    ),
    "empty split": (
        lambda r: (r / "ImageSets/2017/train.txt").write_text("\n"),
        ("train.txt", "split 'train' is empty", "one sequence name per line"),
    ),
    "missing sequence folder": (
        lambda r: (r / "ImageSets/2017/train.txt").write_text("bear\nghost\n"),
        ("sequence 'ghost'", "JPEGImages/480p/ghost is missing", "remove the name from ImageSets"),
    ),
}


@pytest.mark.parametrize("case", sorted(DAVIS_CASES))
def test_davis_bad_input(tmp_path: Path, case: str) -> None:
    corrupt, patterns = DAVIS_CASES[case]
    root = davis(tmp_path)
    corrupt(root)
    assert_fails(tmp_path, "davis_train", root, *patterns)


def test_error_from_a_worker_process(tmp_path: Path) -> None:
    root = make_davis(tmp_path / "DAVIS", {"train": {"bear": 2, "camel": 1, "dog": 1}})
    _rgb_png(root)
    assert_fails(tmp_path, "davis_train", root, "sequence 'bear'", "mode 'RGB'", workers=2)


def _yt_meta(root: Path, split: str, edit: Callable[[dict], None]) -> None:
    path = root / split / "meta.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


YT_CASES: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "first appearance missing": (
        "valid",
        lambda r: (r / "valid/Annotations/0a49f5265b/00005.png").unlink(),
        (
            "video '0a49f5265b'",
            "object 2",
            "first appears at frame 00005",
            "00005.png is missing",
            "meta.json",
        ),
    ),
    "first appearance empty": (
        "valid",
        lambda r: write_label_png(r / "valid/Annotations/0a49f5265b/00005.png", np.zeros((H, W), np.uint8)),
        ("video '0a49f5265b'", "object 2", "has no pixel with id 2 (empty mask)", "add the object's mask"),
    ),
    "train object in no png": (
        "train",
        lambda r: _yt_meta(r, "train", lambda m: m["videos"]["1b2c3d4e5f"]["objects"].update({"7": {}})),
        ("video '1b2c3d4e5f'", "object 7 (meta.json) appears in no annotation PNG", "remove the object"),
    ),
    "meta names missing video": (
        "train",
        lambda r: _yt_meta(
            r, "train", lambda m: m["videos"].update(ghost={"objects": {"1": {"frames": []}}})
        ),
        ("video 'ghost'", "meta.json names this video", "JPEGImages/ghost is missing"),
    ),
    "bad video name": (
        "train",
        lambda r: _yt_meta(r, "train", lambda m: m["videos"].update({"../x": {"objects": {}}})),
        ("meta.json", "video name '../x'", "one path component"),
    ),
    "empty split": (
        "valid",
        lambda r: _yt_meta(r, "valid", lambda m: m.update(videos={})),
        ("valid/meta.json", "split is empty", "list the videos"),
    ),
    "id not in meta": (
        "train",
        lambda r: _yt_meta(r, "train", lambda m: m["videos"]["0a49f5265b"]["objects"].pop("2")),
        ("video '0a49f5265b', frame 00000", "object id(s) [2] that meta.json does not list"),
    ),
    "duplicate meta frame": (
        "train",
        lambda r: _yt_meta(
            r, "train", lambda m: m["videos"]["1b2c3d4e5f"]["objects"]["1"]["frames"].append("00005")
        ),
        ("video '1b2c3d4e5f', object 1", "duplicate frame in 'frames' '00005'"),
    ),
    "annotation without image": (
        "train",
        lambda r: (r / "train/JPEGImages/1b2c3d4e5f/00010.jpg").unlink(),
        ("video '1b2c3d4e5f'", "00010.png has no image"),
    ),
}


@pytest.mark.parametrize("case", sorted(YT_CASES))
def test_youtube_vos_bad_input(tmp_path: Path, case: str) -> None:
    split, corrupt, patterns = YT_CASES[case]
    root = make_youtube_vos(tmp_path / "youtube_vos", split)
    corrupt(root)
    name = "youtube_vos_2019_train" if split == "train" else "youtube_vos_2019_val"
    assert_fails(tmp_path, name, root, *patterns)


def _coco_edit(root: Path, edit: Callable[[dict], None]) -> None:
    path = root / "annotations" / "instances_train2017.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


COCO_CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "missing image file": (
        lambda r: (r / "train2017" / "000000000002.jpg").unlink(),
        ("image id 2 (000000000002.jpg)", "000000000002.jpg not found", "restore the file"),
    ),
    "annotation for unknown image": (
        lambda r: _coco_edit(r, lambda d: d["annotations"][0].update(image_id=99)),
        ("annotation id 10", "field 'image_id' 99 names no image", "missing image for an annotation"),
    ),
    "rle size differs": (
        lambda r: _coco_edit(r, lambda d: d["annotations"][1]["segmentation"].update(size=[H, W + 2])),
        ("image id 1", "annotation id 11", "field 'segmentation' has size [24, 34]", "image is 24x32"),
    ),
    "image size differs": (
        lambda r: write_jpeg(r / "train2017" / "000000000003.jpg", H + 1, W),
        ("image id 3", "fields height/width say 24x32 but the file is 25x32", "same COCO release"),
    ),
    "empty mask": (
        lambda r: _coco_edit(
            r, lambda d: d["annotations"][3].update(segmentation=[[50, 50, 60, 50, 60, 60]])
        ),
        ("image id 2", "annotation id 13", "decodes to an empty mask", "--skip-empty-masks"),
    ),
    "empty polygon list": (
        lambda r: _coco_edit(r, lambda d: d["annotations"][0].update(segmentation=[])),
        ("image id 1", "annotation id 10", "decodes to an empty mask"),
    ),
    "duplicate file name": (
        lambda r: _coco_edit(r, lambda d: d["images"][1].update(file_name="000000000001.jpg")),
        ("instances_train2017.json", "duplicate image file_name '000000000001.jpg'"),
    ),
    "path in file name": (
        lambda r: _coco_edit(r, lambda d: d["images"][1].update(file_name="../000000000001.jpg")),
        ("image id 2", "file_name '../000000000001.jpg'", "one path component"),
    ),
    "empty split": (
        lambda r: _coco_edit(r, lambda d: d.update(images=[], annotations=[])),
        ("instances_train2017.json", "split is empty"),
    ),
    "corrupt jpeg": (
        lambda r: (r / "train2017" / "000000000001.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage"),
        ("image id 1", "is unreadable or corrupt", "re-download"),
    ),
}


@pytest.mark.parametrize("case", sorted(COCO_CASES))
def test_coco_bad_input(tmp_path: Path, case: str) -> None:
    corrupt, patterns = COCO_CASES[case]
    root = make_coco(tmp_path / "coco")
    corrupt(root)
    assert_fails(tmp_path, "coco_2017_train", root, *patterns)


def test_coco_skip_empty_masks_option(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    _coco_edit(root, lambda d: d["annotations"][3].update(segmentation=[[50, 50, 60, 50, 60, 60]]))
    summary = convert_to_workspace(
        "coco_2017_train", root, tmp_path / "ws", progress=False, skip_empty_masks=True, policy=STRICT
    )
    assert (summary.records, summary.objects) == (1, 3)
