"""Files from the official workspace zip replace converted JSONs and trained checkpoints, after checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hodor.convert.run import convert_to_file
from hodor.data.standard_json import load_video_dataset
from hodor.data.synthetic import synthesize
from hodor.errors import InputError
from hodor.model import ModelParams, build_model
from hodor.official_workspace import import_checkpoint, import_json


def test_import_json_validates_links_images_and_copies(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    synthesize(raw, seed=0, scale="tiny")
    official = tmp_path / "official" / "dataset_json_annotations"
    convert_to_file("davis_val", raw / "DAVIS", official / "davis_val.json", workers=1, progress=False)
    out = import_json("davis_val", official, raw / "DAVIS", tmp_path / "ws")
    assert out.read_bytes() == (official / "davis_val.json").read_bytes()
    dataset = load_video_dataset(out, tmp_path / "ws" / "dataset_images" / "davis_trainval")
    seq = dataset.sequences[0]
    assert dataset.image_path(seq, 0).is_file()

    with pytest.raises(InputError, match=r"davis_train.json: not found; official.json_dir"):
        import_json("davis_train", official, raw / "DAVIS", tmp_path / "ws")
    (official / "davis_train.json").write_text('{"sequences": [{"id": "x"}]}')
    with pytest.raises(InputError, match="davis_train.json"):
        import_json("davis_train", official, raw / "DAVIS", tmp_path / "ws")
    assert not (tmp_path / "ws" / "dataset_json_annotations" / "davis_train.json").exists()


def test_import_checkpoint_checks_the_model(tmp_path: Path) -> None:
    quick = build_model(ModelParams(variant="quick"))
    src = tmp_path / "250000.pth"
    torch.save({"model": quick.state_dict(), "iterations": 250000}, src)
    out = import_checkpoint(src, tmp_path / "static_image", build_model(ModelParams(variant="quick")))
    assert out == tmp_path / "static_image" / "final.pth" and out.read_bytes() == src.read_bytes()

    other = build_model(ModelParams(variant="quick", dim=128))
    with pytest.raises(InputError, match="does not fit the model"):
        import_checkpoint(src, tmp_path / "other", other)
    assert not (tmp_path / "other" / "final.pth").exists()


def test_import_json_checks_every_image_behind_a_link_before_placing(tmp_path: Path) -> None:
    """A linked dataset root whose target lacks one frame, or a JSON path leaving the image folder,
    is refused before the workspace gets a link or a JSON."""
    real = tmp_path / "disk" / "DAVIS"
    synthesize(tmp_path / "disk", seed=0, scale="tiny")
    (tmp_path / "linked").symlink_to(real)
    official = tmp_path / "official"
    convert_to_file("davis_val", real, official / "davis_val.json", workers=1, progress=False)
    doc = json.loads((official / "davis_val.json").read_text())
    missing = real / "JPEGImages" / "480p" / doc["sequences"][0]["image_paths"][-1]
    missing.unlink()
    ws = tmp_path / "ws"
    with pytest.raises(
        InputError, match=rf"1 of the \d+ images it names are missing under .*linked.*{missing.name}"
    ):
        import_json("davis_val", official, tmp_path / "linked", ws)
    assert not ws.exists()

    for bad in ("../../etc/passwd", "/etc/passwd", "bear/../../x.jpg"):
        doc["sequences"][0]["image_paths"][0] = bad
        (official / "davis_val.json").write_text(json.dumps(doc))
        with pytest.raises(InputError, match=r"image_paths\[0\]'.*leaves the image folder"):
            import_json("davis_val", official, tmp_path / "linked", ws)
    assert not ws.exists()
