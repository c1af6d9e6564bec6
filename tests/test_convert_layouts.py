"""The optional raw layouts: YouTube-VOS ``valid_all_frames`` (every frame for inference, the scored
frames apart in ``eval_files``) and DAVIS 2017 test-dev (only frame 0 annotated)."""

from __future__ import annotations

import json
import runpy
import shutil
import zipfile
from pathlib import Path

import torch
import yaml
from PIL import Image
from test_convert_raw import H, W, make_davis, make_youtube_vos, write_jpeg
from test_infer_cli import PARAMS, REPO
from test_infer_dataset import save_checkpoint

from hodor.cli import main as hodor_main
from hodor.convert.policy import Policy
from hodor.convert.run import convert_to_file, convert_to_workspace
from hodor.data.standard_json import load_video_dataset
from hodor.model import ModelParams, build_model


def test_youtube_vos_valid_all_frames(tmp_path: Path) -> None:
    root = make_youtube_vos(tmp_path / "youtube_vos", "valid")
    for video in ("0a49f5265b", "1b2c3d4e5f"):
        all_frames = root / "valid_all_frames" / "JPEGImages" / video
        for t in range(16):  # 00000 .. 00015; the valid/ frames are every 5th of these
            scored = root / "valid" / "JPEGImages" / video / f"{t:05d}.jpg"
            target = all_frames / scored.name
            if scored.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(scored, target)
            else:
                write_jpeg(target, seed=100 + t)
    summary = convert_to_workspace(
        "youtube_vos_2019_val", root, tmp_path / "ws", progress=False, workers=1, frames="valid_all_frames"
    )
    assert summary.image_root.resolve() == (root / "valid_all_frames" / "JPEGImages").resolve()
    doc = json.loads(summary.json_path.read_text())
    seq = next(s for s in doc["sequences"] if s["id"] == "0a49f5265b")
    assert len(seq["image_paths"]) == 16 and seq["image_paths"][7] == "0a49f5265b/00007.jpg"
    assert seq["eval_files"] == ["00000.jpg", "00005.jpg", "00010.jpg", "00015.jpg"]
    assert sorted(seq["segmentations"]) == ["0", "5"]  # object 2 first appears at 00005: index 5 of all
    dataset = load_video_dataset(summary.json_path, summary.image_root)
    assert dataset.sequences[0].eval_files and dataset.image_path(dataset.sequences[0], 15).is_file()

    (root / "valid_all_frames" / "JPEGImages" / "0a49f5265b" / "00010.jpg").unlink()
    out = tmp_path / "gap.json"
    lenient = Policy(max_skipped_fraction=0.5)
    convert_to_file(
        "youtube_vos_2019_val",
        root,
        out,
        progress=False,
        workers=1,
        frames="valid_all_frames",
        policy=lenient,
    )
    (entry,) = json.loads(out.with_name("gap.report.json").read_text())["items"]
    assert entry["item"] == "video 0a49f5265b" and "same release" in entry["reason"]


def test_davis_testdev_converts_with_frame_zero_only(tmp_path: Path, capsys) -> None:
    root = make_davis(tmp_path / "DAVIS", {"test-dev": {"bear": 2}})
    for png in sorted((root / "Annotations" / "480p" / "bear").glob("*.png"))[1:]:
        png.unlink()
    rc = hodor_main(
        ["convert", "davis", str(root), "--split", "test-dev", "--workspace", str(tmp_path / "ws")]
    )
    assert rc == 0 and "davis_testdev" in capsys.readouterr().out
    out = tmp_path / "ws" / "dataset_json_annotations" / "davis_testdev.json"
    (seq,) = json.loads(out.read_text())["sequences"]
    assert list(seq["segmentations"]) == ["0"] and sorted(seq["segmentations"]["0"]) == ["1", "2"]
    assert seq["tracks"][1:] == [{}, {}, {}]
    assert (tmp_path / "ws" / "dataset_images" / "davis_testdev" / "bear" / "00003.jpg").is_file()


def test_davis_testdev_stage_converts_and_writes_server_pngs_and_zip(tmp_path: Path, capsys) -> None:
    """stages/testdev.py (the DVC stage testdev@<regime>): converts test-dev from data.davis_root under the
    convert policy, then writes one palette PNG per frame of every sequence at the frame size and a zip
    of the sequence folders (the server's upload format), without the done markers."""
    root = make_davis(tmp_path / "DAVIS", {"test-dev": {"bear": 2, "cows": 1}}, frames=3)
    for seq in ("bear", "cows"):
        for png in sorted((root / "Annotations" / "480p" / seq).glob("*.png"))[1:]:
            png.unlink()
    quick = ModelParams(variant="quick")
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "final.pth", build_model(quick), quick)
    data = {"source": "real", "synthetic": {"seed": 0, "scale": "tiny"}, "coco_root": "unused",
            "davis_root": str(root), "youtube_vos_root": "unused"}  # fmt: skip
    convert = {"strict": False, "max_skipped_fraction": 0.01, "youtube_vos_val_frames": "valid"}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({**PARAMS, "data": data, "convert": convert}))
    stage = runpy.run_path(str(REPO / "stages/testdev.py"))["main"]
    out, ws = tmp_path / "outputs" / "davis_testdev", tmp_path / "workspace"
    args = ["--params", str(params), "--checkpoint", str(ckpt), "--workspace", str(ws), "--out", str(out)]
    assert stage(args) == 0
    printed = capsys.readouterr().out
    assert "convert@davis_testdev: 2 records, 6 frames, 3 objects" in printed and "upload" in printed
    assert json.loads((ws / "dataset_json_annotations" / "davis_testdev.report.json").read_text())
    for seq in ("bear", "cows"):
        assert sorted(p.name for p in (out / seq).glob("*.png")) == ["00000.png", "00001.png", "00002.png"]
    with Image.open(out / "bear" / "00002.png") as image:
        assert image.mode == "P" and image.size == (W, H)
    with zipfile.ZipFile(out / "davis_testdev.zip") as zf:
        names = zf.namelist()
        assert zf.read("cows/00001.png") == (out / "cows" / "00001.png").read_bytes()
    assert names == [f"{seq}/{t:05d}.png" for seq in ("bear", "cows") for t in range(3)]
    (root / "ImageSets" / "2017" / "test-dev.txt").unlink()  # no test-dev download: a clear error
    assert stage(args) == 2
    assert "test-dev.txt" in capsys.readouterr().err
