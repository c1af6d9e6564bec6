"""The standardized-JSON loader reads hand-written files in each official shape (hodor-data-format.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from hodor.data.standard_json import decode_rle, load_image_dataset, load_video_dataset
from hodor.errors import InputError


def rle(mask: np.ndarray) -> str:
    """What the official converter stored: pycocotools counts of the Fortran-ordered uint8 mask."""
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode("ascii")


def box_mask(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_image_json_like_the_doc_example(tmp_path: Path) -> None:
    a, b = box_mask(4, 5, 0, 2, 1, 3), box_mask(4, 5, 2, 4, 4, 5)
    doc = {
        "meta": {"category_labels": {"1": "person", "18": "dog"}},
        "images": [
            {
                "id": 42, "height": 4, "width": 5, "image_path": "000000000042.jpg",
                "categories": [1, 18], "segmentations": [rle(a), rle(b)],
                "areas": [4, 2], "bboxes": [[1, 0, 2, 2], [4, 2, 1, 2]], "iscrowd": [0, 0],
            },
            # areas/bboxes absent: computed from the RLEs, as the official loader does
            {"height": 4, "width": 5, "image_path": "x.jpg", "categories": [18], "segmentations": [rle(b)]},
            # only areas given: kept as written, boxes computed
            {"height": 4, "width": 5, "image_path": "y.jpg", "categories": [1], "segmentations": [rle(a)],
             "areas": [7]},
        ],
    }  # fmt: skip
    ds = load_image_dataset(write(tmp_path / "coco_2017_train.json", doc), tmp_path / "imgs")
    assert ds.name == "coco_2017_train" and ds.category_labels == {1: "person", 18: "dog"}
    first, second, third = ds.images
    assert third.areas == [7.0] and third.bboxes == [[1.0, 0.0, 2.0, 2.0]]
    assert first.id == 42 and first.categories == [1, 18]
    np.testing.assert_array_equal(first.decode(0), a)
    np.testing.assert_array_equal(first.decode(1), b)
    assert second.id == 1 and second.areas == [2.0] and second.bboxes == [[4.0, 2.0, 1.0, 2.0]]
    assert ds.image_path(first) == tmp_path / "imgs" / "000000000042.jpg"


def test_video_training_shape(tmp_path: Path) -> None:
    h, w = 6, 8
    m = [box_mask(h, w, 0, 3, 0, 3), box_mask(h, w, 3, 6, 5, 8), box_mask(h, w, 1, 4, 1, 4)]
    ann = {
        k: {"box": [0, 0, 1, 1], "seg": rle(v), "area": int(v.sum())}
        for k, v in zip("12", m[:2], strict=True)
    }
    doc = {
        "meta": {"category_labels": {}},
        "sequences": [
            {
                "id": "bear", "height": str(h), "width": w,
                "image_paths": ["bear/00000.jpg", "bear/00001.jpg", "bear/00002.jpg"],
                "categories": {"1": 1, "2": 1},
                "tracks": [ann, {}, {"1": {"box": [1, 1, 3, 3], "seg": rle(m[2]), "area": 9}}],
            }
        ],
    }  # fmt: skip
    ds = load_video_dataset(write(tmp_path / "davis_train.json", doc), tmp_path)
    (seq,) = ds.sequences
    assert (seq.height, seq.width) == (h, w) and seq.categories == {1: 1, 2: 1} and seq.eval_files is None
    assert seq.annotated_frames() == [0, 2] and seq.first_appearance() == {1: 0, 2: 0}
    assert seq.object_mask(1, 1) is None and seq.label_map(1) is None
    np.testing.assert_array_equal(seq.object_mask(2, 1), m[2])
    np.testing.assert_array_equal(seq.label_map(0), m[0] + 2 * m[1])
    assert set(seq.reference_masks) == {0} and set(seq.reference_masks[0]) == {1, 2}
    assert ds.image_path(seq, 2) == tmp_path / "bear/00002.jpg"


def test_video_inference_shape_reads_size_from_first_image(tmp_path: Path) -> None:
    h, w = 7, 9
    (tmp_path / "0a49f5265b").mkdir()
    for name in ("00000", "00005", "00010"):
        Image.new("RGB", (w, h)).save(tmp_path / "0a49f5265b" / f"{name}.jpg")
    a, b, c = box_mask(h, w, 0, 2, 0, 2), box_mask(h, w, 4, 7, 4, 9), box_mask(h, w, 2, 5, 2, 5)
    doc = {
        "sequences": [
            {
                "id": "0a49f5265b",
                "image_paths": ["0a49f5265b/00000.jpg", "0a49f5265b/00005.jpg", "0a49f5265b/00010.jpg"],
                "segmentations": {"0": {"1": rle(a), "2": rle(b)}, "2": {"3": rle(c)}},
                "eval_files": ["00000.jpg", "00005.jpg", "00010.jpg"],
            }
        ]
    }
    ds = load_video_dataset(write(tmp_path / "youtube_vos_2019_val.json", doc), tmp_path)
    (seq,) = ds.sequences
    assert (seq.height, seq.width) == (h, w)
    assert seq.first_appearance() == {1: 0, 2: 0, 3: 2} and seq.annotated_frames() == [0, 2]
    assert seq.eval_files == ["00000.jpg", "00005.jpg", "00010.jpg"]
    assert seq.categories == {1: 0, 2: 0, 3: 0} and ds.category_labels == {}
    np.testing.assert_array_equal(seq.decode(seq.reference_masks[2][3]), c)
    np.testing.assert_array_equal(seq.label_map(0), a + 2 * b)


def test_bad_files_name_the_file_sequence_and_field(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_video_dataset(tmp_path / "missing.json", tmp_path)
    bad = {"sequences": [{"id": "s", "image_paths": ["s/0.jpg"], "height": 2, "width": 2, "tracks": []}]}
    with pytest.raises(InputError, match=r"bad\.json: sequence 's', field 'tracks'"):
        load_video_dataset(write(tmp_path / "bad.json", bad), tmp_path)
    no_size = {"sequences": [{"id": "s", "image_paths": ["s/0.jpg"], "segmentations": {"0": {"1": "1"}}}]}
    with pytest.raises(InputError, match="field 'height/width'.*cannot be read"):
        load_video_dataset(write(tmp_path / "nosize.json", no_size), tmp_path)
    images = {"meta": {"category_labels": {"1": "a"}}, "images": [
        {"id": 3, "height": 2, "width": 2, "image_path": "a.jpg", "categories": [7], "segmentations": ["04"]}
    ]}  # fmt: skip
    with pytest.raises(InputError, match="image 3, field 'categories': category 7"):
        load_image_dataset(write(tmp_path / "img.json", images), tmp_path)
    with pytest.raises(InputError, match="not a valid COCO RLE"):
        decode_rle("02140;", 4, 5)  # the doc example string is illustrative, not valid


@pytest.mark.parametrize("enabled", [True, False])
def test_json_reads_leave_the_garbage_collector_as_they_found_it(tmp_path: Path, enabled: bool) -> None:
    """read_json pauses the collector while parsing (conversion at COCO scale), also when it fails."""
    import gc

    from hodor.data.standard_json import read_json

    good, bad = write(tmp_path / "good.json", {"a": [1, {"b": 2}]}), tmp_path / "bad.json"
    bad.write_text("{not json")
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert read_json(good) == {"a": [1, {"b": 2}]}
        assert gc.isenabled() is enabled
        with pytest.raises(InputError, match="bad.json"):
            read_json(bad)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
