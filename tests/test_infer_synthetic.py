"""Inference on the synthetic workspace (synthesize -> convert -> infer): the result folders are exactly what
the official DAVIS / YouTube-VOS tools expect, and late-appearing objects start at their first frame."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hodor.convert.run import convert_to_workspace, dataset_root
from hodor.data.palette import davis_palette, read_label_png, youtube_vos_palette
from hodor.data.standard_json import load_video_dataset
from hodor.data.synthetic import synthesize
from hodor.data.workspace import image_root, json_path
from hodor.infer.dataset import infer_dataset
from hodor.infer.params import InferParams
from hodor.model import ModelParams, build_model


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    synthesize(root / "raw", scale="tiny")
    for name in ("davis_val", "youtube_vos_2019_val"):
        convert_to_workspace(
            name, dataset_root(root / "raw", name), root / "workspace", workers=1, progress=False
        )
    return root


def _infer(root: Path, name: str, kind: str):
    torch.manual_seed(0)
    model = build_model(ModelParams(variant="quick")).eval()
    dataset = load_video_dataset(json_path(root / "workspace", name), image_root(root / "workspace", name))
    params = InferParams(
        temporal_window=3, min_image_dim=96, max_dim_ratio=2.0, backbone_batch_size=8, amp="none"
    )
    infer_dataset(model, dataset, root / name, params, kind, "cpu", progress=False)
    return dataset


def _palette(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "P"
        return np.array(im.getpalette()).reshape(-1, 3)[:256].astype(np.uint8)


def test_davis_val_result_folder(workspace: Path) -> None:
    dataset = _infer(workspace, "davis_val", "davis")
    raw = workspace / "raw/DAVIS"
    for seq in dataset.sequences:
        gt_dir = raw / "Annotations/480p" / seq.id
        # One PNG per JPEG, same names and size as the DAVIS annotations, DAVIS palette, known ids only.
        jpgs = sorted(p.stem for p in (raw / "JPEGImages/480p" / seq.id).glob("*.jpg"))
        assert sorted(p.stem for p in (workspace / "davis_val" / seq.id).glob("*.png")) == jpgs
        gt0 = read_label_png(gt_dir / f"{jpgs[0]}.png")
        ids = set(np.unique(gt0).tolist())
        for stem in jpgs:
            path = workspace / "davis_val" / seq.id / f"{stem}.png"
            labels = read_label_png(path)
            assert labels.shape == gt0.shape and set(np.unique(labels).tolist()) <= ids
            assert np.array_equal(_palette(path), davis_palette())


def test_youtube_vos_val_late_objects_and_zip(workspace: Path) -> None:
    dataset = _infer(workspace, "youtube_vos_2019_val", "youtube_vos")
    out = workspace / "youtube_vos_2019_val"
    late_seen = 0
    for seq in dataset.sequences:
        stems = [Path(p).stem for p in seq.image_paths]
        first = seq.first_appearance()
        for t, stem in enumerate(stems):
            path = out / "Annotations" / seq.id / f"{stem}.png"
            labels = read_label_png(path)
            assert labels.shape == (seq.height, seq.width)
            assert np.array_equal(_palette(path), youtube_vos_palette())
            for obj, start in first.items():
                if t < start:
                    assert obj not in labels, f"{seq.id}: object {obj} drawn at frame {t} before it appears"
                elif t == start:  # its reference mask is pasted in at its first frame
                    assert (labels == obj).any(), f"{seq.id}: object {obj} missing at its first frame {t}"
                    late_seen += start > 0
    assert late_seen > 0, "the synthetic YouTube-VOS val set should have an object appearing later"
    with zipfile.ZipFile(out / "Annotations.zip") as zf:
        expected = {
            f"Annotations/{s.id}/{Path(f).stem}.png"
            for s in dataset.sequences
            for f in (s.eval_files if s.eval_files is not None else s.image_paths)
        }
        assert set(zf.namelist()) == expected
