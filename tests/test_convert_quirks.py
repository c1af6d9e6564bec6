"""The lenient policy (the default): every item-level bad input of tests/test_convert_errors.py is skipped
or repaired with one report line naming file, item, action and reason; structural ones still fail; the
skipped share is bounded by max_skipped_fraction."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from PIL import Image
from test_convert_errors import COCO_CASES, DAVIS_CASES, YT_CASES, _coco_edit
from test_convert_raw import make_coco, make_davis, make_youtube_vos

from hodor.convert.policy import Policy, report_path
from hodor.convert.run import convert_to_file
from hodor.convert.validate import EXIF_ORIENTATION, check_image
from hodor.data.palette import read_label_png, write_label_png
from hodor.errors import InputError

ANY = Policy(max_skipped_fraction=1.0)

# case -> (action, kind skipped or None, text the report's item names); absent cases are structural
DAVIS_ITEM = {
    "missing image": ("skipped", "videos", "sequence bear"),
    "mask size": ("skipped", "videos", "sequence bear"),
    "rgb png": ("skipped", "videos", "sequence bear"),
    "id over 255": ("skipped", "videos", "sequence bear"),
    "only void": ("skipped", "videos", "sequence bear"),
    "empty masks": ("skipped", "videos", "sequence bear"),
    "duplicate frame": ("skipped", "videos", "sequence bear"),
    "corrupt jpeg": ("skipped", "videos", "sequence bear"),
    "corrupt png": ("skipped", "videos", "sequence bear"),
    "missing sequence folder": ("skipped", "videos", "sequence ghost"),
    "skipped id": ("repaired", None, "sequence bear"),
}
YT_ITEM = {
    "first appearance missing": ("skipped", "objects", "video 0a49f5265b, object 2"),
    "first appearance empty": ("skipped", "objects", "video 0a49f5265b, object 2"),
    "train object in no png": ("skipped", "objects", "video 1b2c3d4e5f, object 7"),
    "meta names missing video": ("skipped", "videos", "video ghost"),
    "annotation without image": ("skipped", "videos", "video 1b2c3d4e5f"),
    "id not in meta": ("repaired", None, "video 0a49f5265b, frame 00000"),
    "duplicate meta frame": ("repaired", None, "video 1b2c3d4e5f, object 1"),
}
COCO_ITEM = {
    "missing image file": ("skipped", "images", "image id 2"),
    "annotation for unknown image": ("skipped", "annotations", "annotation id 10"),
    "rle size differs": ("skipped", "annotations", "annotation id 11 (image id 1)"),
    "image size differs": ("skipped", "images", "image id 3"),
    "empty mask": ("skipped", "annotations", "annotation id 13 (image id 2)"),
    "empty polygon list": ("skipped", "annotations", "annotation id 10 (image id 1)"),
    "corrupt jpeg": ("skipped", "images", "image id 1"),
}


def _check(
    tmp_path: Path, name: str, root: Path, expected: tuple[str, str | None, str], message: str
) -> dict:
    out = tmp_path / "out" / f"{name}.json"
    summary = convert_to_file(name, root, out, workers=1, progress=False, policy=ANY)
    report = json.loads(report_path(out).read_text())
    assert report_path(out).name == f"{name}.report.json"
    action, kind, item = expected
    entries = [e for e in report["items"] if e["item"] == item]
    assert entries, f"no report line for {item!r}: {report['items']}"
    assert entries[0]["action"] == action and message in entries[0]["reason"]
    assert set(entries[0]) == {"file", "item", "action", "reason"}
    skipped = report["summary"]["skipped"]
    assert (skipped.get(kind, 0) >= 1) if kind else not skipped, skipped
    assert action in summary.line()
    return json.loads(out.read_text())


@pytest.mark.parametrize("case", sorted(DAVIS_CASES))
def test_davis_quirk_is_skipped_or_structural(tmp_path: Path, case: str) -> None:
    corrupt, patterns = DAVIS_CASES[case]
    root = make_davis(tmp_path / "DAVIS", {"train": {"bear": 2, "camel": 1}})
    corrupt(root)
    if case not in DAVIS_ITEM:
        with pytest.raises(InputError, match=patterns[-1]):
            convert_to_file("davis_train", root, tmp_path / "o.json", workers=1, progress=False, policy=ANY)
        return
    doc = _check(tmp_path, "davis_train", root, DAVIS_ITEM[case], patterns[-1])
    ids = [s["id"] for s in doc["sequences"]]
    action, _, item = DAVIS_ITEM[case]
    assert (item.split()[-1] in ids) == (action == "repaired") and ids


@pytest.mark.parametrize("case", sorted(YT_CASES))
def test_youtube_vos_quirk_is_skipped_or_structural(tmp_path: Path, case: str) -> None:
    split, corrupt, patterns = YT_CASES[case]
    root = make_youtube_vos(tmp_path / "youtube_vos", split)
    corrupt(root)
    name = "youtube_vos_2019_train" if split == "train" else "youtube_vos_2019_val"
    if case not in YT_ITEM:
        with pytest.raises(InputError, match=patterns[-1]):
            convert_to_file(name, root, tmp_path / "o.json", workers=1, progress=False, policy=ANY)
        return
    message = "listed twice in 'frames'" if case == "duplicate meta frame" else patterns[1]
    doc = _check(tmp_path, name, root, YT_ITEM[case], message)
    for seq in doc["sequences"]:  # dropped objects are gone from categories, tracks and references
        objects = set(seq["categories"])
        assert all(set(t) <= objects for t in seq["tracks"])
        assert {o for refs in seq["segmentations"].values() for o in refs} == objects


@pytest.mark.parametrize("case", sorted(COCO_CASES))
def test_coco_quirk_is_skipped_or_structural(tmp_path: Path, case: str) -> None:
    corrupt, patterns = COCO_CASES[case]
    root = make_coco(tmp_path / "coco")
    corrupt(root)
    if case not in COCO_ITEM:
        with pytest.raises(InputError, match=patterns[-1].replace("(", r"\(").replace(")", r"\)")):
            convert_to_file(
                "coco_2017_train", root, tmp_path / "o.json", workers=1, progress=False, policy=ANY
            )
        return
    _check(tmp_path, "coco_2017_train", root, COCO_ITEM[case], patterns[1])


def test_short_polygon_is_dropped_and_the_annotation_kept(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    _coco_edit(root, lambda d: d["annotations"][0]["segmentation"].append([1, 1, 2, 2]))
    expected = ("repaired", None, "annotation id 10 (image id 1)")
    doc = _check(tmp_path, "coco_2017_train", root, expected, "polygon")
    assert sum(len(r["segmentations"]) for r in doc["images"]) == 4
    with pytest.raises(InputError, match="even number"):  # strict: today's error
        convert_to_file(
            "coco_2017_train", root, tmp_path / "s.json", progress=False, policy=Policy(strict=True)
        )


def test_the_skipped_share_is_bounded_and_the_report_still_written(tmp_path: Path) -> None:
    root = make_davis(tmp_path / "DAVIS", {"train": {"bear": 2, "camel": 1, "dog": 1}})
    (root / "JPEGImages/480p/bear/00002.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "davis_train.json"
    with pytest.raises(InputError, match=r"1 of 3 videos \(33.3%\).*max_skipped_fraction = 0.3"):
        convert_to_file(
            "davis_train", root, out, workers=1, progress=False, policy=Policy(max_skipped_fraction=0.3)
        )
    assert not out.exists()
    report = json.loads(report_path(out).read_text())
    assert report["summary"]["skipped"] == {"videos": 1} and report["summary"]["totals"]["videos"] == 3
    summary = convert_to_file(
        "davis_train", root, out, workers=2, progress=False, policy=Policy(max_skipped_fraction=0.34)
    )
    assert summary.records == 2 and "1 skipped (1 videos)" in summary.line()


def test_crowd_and_objectless_images_are_counted_not_listed(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    _coco_edit(root, lambda d: d["annotations"][0].update(iscrowd=1))
    out = tmp_path / "c.json"
    convert_to_file("coco_2017_train", root, out, progress=False)
    report = json.loads(report_path(out).read_text())
    assert report["items"] == [] and report["summary"]["filtered"]["crowd annotations"] >= 1


def test_exif_rotated_image_is_measured_as_opencv_reads_it(tmp_path: Path) -> None:
    """One orientation rule: the converter's size is OpenCV's; a turned image no longer matching its
    annotated size is skipped at conversion (strict: the size error), never a crash in training."""
    root = make_coco(tmp_path / "coco")
    path = root / "train2017" / "000000000003.jpg"  # annotated 24x32
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # "turn 90 degrees": OpenCV returns it 32x24
    Image.open(path).save(path, exif=exif.tobytes())
    assert check_image(path, "x") == cv2.imread(str(path)).shape[:2] == (32, 24)
    _check(tmp_path, "coco_2017_train", root, ("skipped", "images", "image id 3"), "but the file is 32x24")
    with pytest.raises(InputError, match="fields height/width say 24x32 but the file is 32x24"):
        convert_to_file(
            "coco_2017_train", root, tmp_path / "s.json", progress=False, policy=Policy(strict=True)
        )


def test_davis_references_come_from_frame_zero_only(tmp_path: Path) -> None:
    """Semi-supervised DAVIS gives the masks of frame 0 only: an object entering later gets no reference
    (and a report line in an evaluation split), never a mask from its first appearance."""
    root = make_davis(tmp_path / "DAVIS", {"val": {"bear": 2}})
    png = root / "Annotations/480p/bear/00000.png"
    labels = read_label_png(png)
    labels[labels == 2] = 0
    write_label_png(png, labels)
    out = tmp_path / "davis_val.json"
    convert_to_file("davis_val", root, out, workers=1, progress=False)
    (seq,) = json.loads(out.read_text())["sequences"]
    assert list(seq["segmentations"]) == ["0"] and list(seq["segmentations"]["0"]) == ["1"]
    assert "2" in seq["tracks"][1] and sorted(seq["categories"]) == ["1", "2"]
    (entry,) = json.loads(report_path(out).read_text())["items"]
    assert entry["action"] == "repaired" and "absent from frame 0" in entry["reason"]
