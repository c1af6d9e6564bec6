"""Round trips: raw DAVIS / YouTube-VOS / COCO -> standardized JSON -> our loader == the raw masks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from test_convert_raw import make_coco, make_davis, make_youtube_vos

from hodor.cli import main as hodor_main
from hodor.convert.run import convert_to_file, convert_to_workspace
from hodor.data.palette import read_label_png
from hodor.data.standard_json import load_image_dataset, load_video_dataset
from hodor.data.workspace import image_root, link_images


def assert_tracks_equal_pngs(dataset, ann_root: Path) -> int:
    """Every annotated frame's label map (and each object mask) equals its raw PNG; returns frames compared."""
    compared = 0
    for seq in dataset.sequences:
        for t, path in enumerate(seq.image_paths):
            png = ann_root / seq.id / (Path(path).stem + ".png")
            if not png.exists():
                assert seq.label_map(t) is None
                continue
            raw = read_label_png(png)
            raw = np.where(raw == 255, 0, raw)  # void is background in the stored masks
            if raw.any():
                np.testing.assert_array_equal(seq.label_map(t), raw, err_msg=f"{seq.id} frame {t}")
            for obj in np.unique(raw[raw > 0]):
                np.testing.assert_array_equal(seq.object_mask(t, int(obj)), (raw == obj).astype(np.uint8))
            compared += 1
    return compared


@pytest.mark.parametrize("workers", [1, 2])
def test_davis_round_trip_and_workspace(tmp_path: Path, workers: int) -> None:
    raw = make_davis(tmp_path / "raw" / "DAVIS")
    ws = tmp_path / "workspace"
    for name in ("davis_train", "davis_val"):
        summary = convert_to_workspace(name, raw, ws, workers=workers, progress=False)
        assert summary.json_path == ws / "dataset_json_annotations" / f"{name}.json"
    root = image_root(ws, "davis_val")
    assert root.is_symlink() and not os.path.isabs(os.readlink(root))  # relative link, no copy
    train = load_video_dataset(ws / "dataset_json_annotations" / "davis_train.json", root)
    val = load_video_dataset(ws / "dataset_json_annotations" / "davis_val.json", root)
    assert [s.id for s in train.sequences] == ["bear", "camel"] and [s.id for s in val.sequences] == ["dog"]
    assert assert_tracks_equal_pngs(train, raw / "Annotations" / "480p") == 8
    assert assert_tracks_equal_pngs(val, raw / "Annotations" / "480p") == 4
    dog = val.sequences[0]
    assert dog.image_paths[0] == "dog/00000.jpg" and val.image_path(dog, 0).is_file()
    assert set(dog.reference_masks) == {0} and set(dog.reference_masks[0]) == {1, 2, 3}
    assert dog.categories == {1: 1, 2: 1, 3: 1} and val.category_labels == {1: "object"}
    # the raw JSON has the union of the training and inference fields
    record = json.loads((ws / "dataset_json_annotations" / "davis_val.json").read_text())["sequences"][0]
    assert {"height", "width", "image_paths", "categories", "tracks", "segmentations"} <= set(record)


def test_davis_void_pixels_are_background(tmp_path: Path) -> None:
    from hodor.data.palette import write_label_png

    raw = make_davis(tmp_path / "DAVIS", {"train": {"bear": 2}})
    png = raw / "Annotations" / "480p" / "bear" / "00001.png"
    labels = read_label_png(png)
    labels[-3:, -3:] = 255
    write_label_png(png, labels)
    ds = load_video_dataset(convert_to_file("davis_train", raw, tmp_path / "o.json", workers=1, progress=False)
                            .json_path, raw / "JPEGImages" / "480p")  # fmt: skip
    assert assert_tracks_equal_pngs(ds, raw / "Annotations" / "480p") == 4


@pytest.mark.parametrize(
    "split,name", [("train", "youtube_vos_2019_train"), ("valid", "youtube_vos_2019_val")]
)
def test_youtube_vos_round_trip(tmp_path: Path, split: str, name: str) -> None:
    raw = make_youtube_vos(tmp_path / "raw" / "youtube_vos", split)
    ws = tmp_path / "ws"
    convert_to_workspace(name, raw, ws, workers=2, progress=False)
    ds = load_video_dataset(ws / "dataset_json_annotations" / f"{name}.json", image_root(ws, name))
    assert assert_tracks_equal_pngs(ds, raw / split / "Annotations") == (8 if split == "train" else 3)
    assert ds.category_labels == {1: "ape", 2: "cat"}
    video = ds.sequence("0a49f5265b")
    assert video.categories == {1: 1, 2: 2}  # "ape", "cat"
    if split == "valid":
        assert video.first_appearance() == {1: 0, 2: 1} and set(video.reference_masks) == {0, 1}
        assert video.eval_files == ["00000.jpg", "00005.jpg", "00010.jpg", "00015.jpg"]
        assert len(video.image_paths) == 4 and video.annotated_frames() == [0, 1]
    else:
        assert video.eval_files is None and video.annotated_frames() == [0, 1, 2, 3]
    assert ds.image_path(video, 3).is_file()


def test_coco_round_trip_equals_ann_to_mask(tmp_path: Path) -> None:
    raw = make_coco(tmp_path / "raw" / "coco")
    ws = tmp_path / "ws"
    summary = convert_to_workspace("coco_2017_train", raw, ws, workers=1, progress=False)
    assert (summary.records, summary.frames, summary.objects) == (2, 3, 4)  # crowd skipped, image 3 empty
    ds = load_image_dataset(summary.json_path, image_root(ws, "coco_2017_train"))
    coco = COCO(str(raw / "annotations" / "instances_train2017.json"))
    assert ds.category_labels == {1: "person", 18: "dog"}
    for record in ds.images:
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=[record.id])) if not a["iscrowd"]]
        assert record.categories == [a["category_id"] for a in anns]
        for i, ann in enumerate(anns):
            np.testing.assert_array_equal(record.decode(i), coco.annToMask(ann), err_msg=f"ann {ann['id']}")
            assert record.areas[i] == coco.annToMask(ann).sum()
        assert ds.image_path(record).is_file()


def test_linking_is_idempotent_and_keeps_a_real_folder(tmp_path: Path) -> None:
    src = tmp_path / "raw" / "imgs"
    (src / "a").mkdir(parents=True)
    (src / "a" / "0.jpg").write_bytes(b"x")
    first = link_images(tmp_path / "ws", "davis_val", src, ["a/0.jpg"])
    target = os.readlink(first)
    assert (
        link_images(tmp_path / "ws", "davis_train", src, ["a/0.jpg"]) == first
        and os.readlink(first) == target
    )
    other = tmp_path / "raw" / "other"
    other.mkdir()
    link_images(tmp_path / "ws", "davis_val", other)
    assert first.resolve() == other.resolve()  # a stale link is replaced
    real = image_root(tmp_path / "ws", "coco_2017_train")
    real.mkdir()
    (real / "0.jpg").write_bytes(b"x")
    assert link_images(tmp_path / "ws", "coco_2017_train", src, ["0.jpg"]) == real and not real.is_symlink()


def test_cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = make_youtube_vos(tmp_path / "youtube_vos", "valid")
    out = tmp_path / "val.json"
    assert (
        hodor_main(["convert", "youtube_vos", str(raw), "--split", "val", "--out", str(out), "--no-progress"])
        == 0
    )
    assert "youtube_vos_2019_val: 2 records, 8 frames" in capsys.readouterr().out and out.is_file()
    assert hodor_main(["convert", "davis", str(raw), "--split", "valid", "--out", str(out)]) == 2
    assert "not a davis split" in capsys.readouterr().err


def test_synthetic_tiny_workspace_converts_end_to_end(tmp_path: Path) -> None:
    """`hodor synthesize` output -> the convert stage for all five names -> every mask round-trips."""
    from hodor.data.synthetic import synthesize

    synthesize(tmp_path / "raw", seed=0, scale="tiny")
    stage = Path(__file__).resolve().parents[1] / "stages" / "convert.py"
    for name in (
        "coco_2017_train",
        "davis_train",
        "davis_val",
        "youtube_vos_2019_train",
        "youtube_vos_2019_val",
    ):
        result = subprocess.run(
            [sys.executable, str(stage), "--params", "unused.yaml", "--name", name, "--raw-root",
             str(tmp_path / "raw"), "--workspace", str(tmp_path / "ws")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"convert@{name}: ")
    ws, raw = tmp_path / "ws", tmp_path / "raw"
    davis = load_video_dataset(ws / "dataset_json_annotations/davis_val.json", image_root(ws, "davis_val"))
    assert assert_tracks_equal_pngs(davis, raw / "DAVIS/Annotations/480p") > 0
    for name, split in (("youtube_vos_2019_train", "train"), ("youtube_vos_2019_val", "valid")):
        ds = load_video_dataset(ws / f"dataset_json_annotations/{name}.json", image_root(ws, name))
        assert assert_tracks_equal_pngs(ds, raw / "youtube_vos" / split / "Annotations") > 0
        assert all(ds.image_path(s, t).is_file() for s in ds.sequences for t in range(len(s)))
    coco = load_image_dataset(
        ws / "dataset_json_annotations/coco_2017_train.json", image_root(ws, "coco_2017_train")
    )
    reference = COCO(str(raw / "coco/annotations/instances_train2017.json"))
    for record in coco.images:
        anns = [a for a in reference.loadAnns(reference.getAnnIds(imgIds=[record.id])) if not a["iscrowd"]]
        for i, ann in enumerate(anns):
            np.testing.assert_array_equal(record.decode(i), reference.annToMask(ann))


def test_stage_reads_raw_folders_from_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "convert_stage", Path(__file__).parents[1] / "stages/convert.py"
    )
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    raw = make_davis(tmp_path / "raw" / "DAVIS")
    params = tmp_path / "params.yaml"
    data = {"source": "real", "synthetic": {"seed": 0, "scale": "tiny"}, "coco_root": "none",
            "davis_root": str(raw), "youtube_vos_root": "none"}  # fmt: skip
    official = {"json_dir": None, "static_image": None, "video_sparse": None, "video_dense": None}
    convert = {"strict": True, "max_skipped_fraction": 0.01, "youtube_vos_val_frames": "valid"}
    params.write_text(
        json.dumps({"data": data, "official": official, "convert": convert, "model": {"other": 1}})
    )  # JSON is YAML
    ws = tmp_path / "ws"
    assert (
        stage.main(["--params", str(params), "--name", "davis_val", "--workspace", str(ws), "--workers", "1"])
        == 0
    )
    assert "convert@davis_val: 1 records, 4 frames, 3 objects" in capsys.readouterr().out
    assert (ws / "dataset_json_annotations" / "davis_val.json").is_file()
    params.write_text(json.dumps({"data": {**data, "davis_root": 3}, "official": official}))
    assert stage.main(["--params", str(params), "--name", "davis_val", "--workspace", str(ws)]) == 2
    assert "davis_root: expected a string" in capsys.readouterr().err
