"""The synthetic raw workspace: real formats that real-dataset readers accept, deterministic, atomic."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from hodor.cli import main as hodor_main
from hodor.data.palette import davis_palette, youtube_vos_palette
from hodor.data.synthetic import MARKER, SCALES, is_synthetic_output, synthesize
from hodor.data.synthetic import build as synthetic_build
from hodor.data.synthetic.assets import UNSEEN_CATEGORIES
from hodor.errors import InputError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "raw"
    summary = synthesize(out, seed=0, scale="tiny")
    assert summary.out == out and summary.counts["coco_images"] == SCALES["tiny"].coco_images + 2
    return out


def _png(path: Path) -> tuple[np.ndarray, list[int]]:
    with Image.open(path) as image:
        assert image.mode == "P", f"{path} is not an indexed PNG"
        return np.array(image), image.getpalette()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- DAVIS 2017: the davis2017-evaluation toolkit's layout rules ---------------------------------------


def test_davis_layout_follows_the_official_toolkit_rules(raw: Path) -> None:
    root = raw / "DAVIS"
    palette = davis_palette().reshape(-1).tolist()
    for subset in ("train", "val"):
        sequences = (root / "ImageSets" / "2017" / f"{subset}.txt").read_text().split()
        assert sequences, subset
        for seq in sequences:
            jpgs = sorted((root / "JPEGImages" / "480p" / seq).glob("*.jpg"))
            pngs = sorted((root / "Annotations" / "480p" / seq).glob("*.png"))
            assert [p.stem for p in jpgs] == [p.stem for p in pngs], seq  # every frame annotated, 1:1
            assert [p.stem for p in jpgs] == [f"{i:05d}" for i in range(len(jpgs))]
            first, first_palette = _png(pngs[0])
            assert first_palette[: len(palette)] == palette
            # The toolkit takes the objects from frame 0 as ids 1..max: all must be there, contiguous.
            ids = sorted(set(np.unique(first).tolist()) - {0})
            assert ids == list(range(1, len(ids) + 1)), (seq, ids)
            for jpg, png in zip(jpgs, pngs, strict=True):
                labels, _ = _png(png)
                assert labels.shape == Image.open(jpg).size[::-1] == SCALES["tiny"].davis_hw
                assert labels.max() <= len(ids)


# ---- COCO ------------------------------------------------------------------------------------------------


def test_testdev_split_has_frame_zero_masks_only_and_leaves_trainval_as_it_was(
    raw: Path, tmp_path: Path
) -> None:
    """``--testdev`` adds DAVIS test-dev as released (every frame, a mask for frame 0 only, its own
    ImageSets list, names apart from trainval's) and changes not one byte of the rest."""
    from hodor.convert.run import convert_to_workspace

    out = tmp_path / "raw"
    summary = synthesize(out, seed=0, scale="tiny", testdev=True)
    sets = out / "DAVIS" / "ImageSets" / "2017"
    names = (sets / "test-dev.txt").read_text().split()
    assert len(names) == summary.counts["davis_testdev"] == SCALES["tiny"].davis_val
    trainval = set((sets / "train.txt").read_text().split()) | set((sets / "val.txt").read_text().split())
    assert not trainval & set(names)
    for name in names:
        jpgs = sorted(p.stem for p in (out / "DAVIS" / "JPEGImages" / "480p" / name).glob("*.jpg"))
        pngs = sorted(p.stem for p in (out / "DAVIS" / "Annotations" / "480p" / name).glob("*.png"))
        assert len(jpgs) > 1 and pngs == ["00000"] and jpgs[0] == "00000"
    before = {k: v for k, v in _files(raw).items() if not k.startswith(".hodor")}
    after = _files(out)
    assert all(after[k] == v for k, v in before.items())
    converted = convert_to_workspace(
        "davis_testdev", out / "DAVIS", tmp_path / "ws", progress=False, workers=1
    )
    assert converted.records == len(names) and not converted.log.entries


def test_coco_loads_and_every_annotation_decodes_to_the_painted_mask(raw: Path) -> None:
    root = raw / "coco"
    coco = COCO(str(root / "annotations" / "instances_train2017.json"))
    assert {"info", "licenses", "images", "annotations", "categories"} <= set(coco.dataset)
    samples = dict(synthetic_build.coco_samples(0, SCALES["tiny"]))  # regenerated: deterministic
    assert sorted(samples) == sorted(coco.getImgIds())
    kinds = set()
    for image_id, sample in samples.items():
        info = coco.loadImgs(image_id)[0]
        with Image.open(root / "train2017" / info["file_name"]) as image:
            assert image.size == (info["width"], info["height"]) == sample.image.shape[1::-1]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=None))
        assert len(anns) == len(sample.objects)
        for ann, obj in zip(anns, sample.objects, strict=True):
            decoded = coco.annToMask(ann)
            assert np.array_equal(decoded.astype(bool), obj.mask), (image_id, ann["id"])
            rle = mask_utils.encode(np.asfortranarray(decoded))
            assert ann["area"] == float(mask_utils.area(rle))
            assert np.allclose(ann["bbox"], mask_utils.toBbox(rle), atol=0.01)
            assert ann["category_id"] in coco.cats
            seg = ann["segmentation"]
            kinds.add("polygon" if isinstance(seg, list) else "crowd" if ann["iscrowd"] else "rle")
            if ann["iscrowd"]:
                assert isinstance(seg["counts"], list)  # COCO's uncompressed crowd RLE
            elif isinstance(seg, dict):
                assert isinstance(seg["counts"], str)
    assert kinds == {"polygon", "rle", "crowd"}


# ---- YouTube-VOS 2019 ------------------------------------------------------------------------------------


def _meta(raw: Path, split: str) -> dict:
    return json.loads((raw / "youtube_vos" / split / "meta.json").read_text())["videos"]


def test_youtube_vos_train_meta_points_to_existing_files(raw: Path) -> None:
    split = raw / "youtube_vos" / "train"
    for vid, video in _meta(raw, "train").items():
        jpgs = sorted(p.stem for p in (split / "JPEGImages" / vid).glob("*.jpg"))
        assert jpgs == [f"{5 * i:05d}" for i in range(len(jpgs))]  # every 5th frame of the 30 fps source
        assert jpgs == sorted(p.stem for p in (split / "Annotations" / vid).glob("*.png"))
        for obj, entry in video["objects"].items():
            assert entry["category"] not in UNSEEN_CATEGORIES
            for frame in entry["frames"]:
                labels, palette = _png(split / "Annotations" / vid / f"{frame}.png")
                assert (labels == int(obj)).any(), (vid, obj, frame)
                assert palette[:33] == youtube_vos_palette()[:11].reshape(-1).tolist()


def test_youtube_vos_valid_has_first_appearance_masks_only(raw: Path) -> None:
    split, gt = raw / "youtube_vos" / "valid", raw / "youtube_vos" / "valid_gt"
    train_categories = {o["category"] for v in _meta(raw, "train").values() for o in v["objects"].values()}
    late, unseen = 0, 0
    for vid, video in _meta(raw, "valid").items():
        jpgs = sorted(p.stem for p in (split / "JPEGImages" / vid).glob("*.jpg"))
        assert jpgs == sorted(p.stem for p in (gt / "Annotations" / vid).glob("*.png"))
        firsts = {obj: entry["frames"][0] for obj, entry in video["objects"].items()}
        assert sorted(p.stem for p in (split / "Annotations" / vid).glob("*.png")) == sorted(
            set(firsts.values())
        )
        for obj, entry in video["objects"].items():
            assert entry["frames"] == jpgs[jpgs.index(firsts[obj]) :]  # to be segmented until the end
            labels, _ = _png(split / "Annotations" / vid / f"{firsts[obj]}.png")
            assert set(np.unique(labels).tolist()) - {0} == {
                int(o) for o, f in firsts.items() if f == firsts[obj]
            }
            full, _ = _png(gt / "Annotations" / vid / f"{firsts[obj]}.png")
            assert np.array_equal(full == int(obj), labels == int(obj))
            late += firsts[obj] != "00000"
            unseen += entry["category"] not in train_categories
    assert late > 0 and unseen > 0


# ---- determinism, refusal, atomicity, entry points -----------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_data(raw: Path, tmp_path: Path) -> None:
    synthesize(tmp_path / "again", seed=0, scale="tiny")
    assert _files(tmp_path / "again") == _files(raw)
    synthesize(tmp_path / "other", seed=1, scale="tiny")
    assert _files(tmp_path / "other") != _files(raw)


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(InputError, match=r"not empty and has no \.hodor_synthetic\.json marker"):
        synthesize(tmp_path, scale="tiny")
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
    with pytest.raises(InputError, match="not a directory"):
        synthesize(tmp_path / "mine.txt", scale="tiny")
    with pytest.raises(InputError, match="unknown synthetic scale"):
        synthesize(tmp_path / "new", scale="huge")


def test_replaces_a_previous_output_completely(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    synthesize(out, seed=3, scale="tiny")
    synthesize(out, seed=0, scale="tiny")
    assert _files(out) == _files(raw)


def test_never_deletes_what_it_did_not_create(tmp_path: Path) -> None:
    """A folder a user copied into the synthetic output (e.g. a real dataset) stops the replacement."""
    out = tmp_path / "synthetic"
    synthesize(out, seed=3, scale="tiny")
    for copied in (out / "my_coco" / "x.jpg", out / "DAVIS" / "JPEGImages" / "480p" / "mine" / "00000.jpg"):
        copied.parent.mkdir(parents=True)
        copied.write_bytes(b"precious")
        before = _files(out)
        with pytest.raises(InputError, match=f"holds {copied.relative_to(out)}.*did not create"):
            synthesize(out, seed=0, scale="tiny")
        assert _files(out) == before
        copied.unlink()
        copied.parent.rmdir()


def test_interrupted_run_leaves_nothing_a_stage_would_accept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic_build, "_youtube_vos", boom)  # COCO and DAVIS are written by then
    with pytest.raises(KeyboardInterrupt):
        synthesize(tmp_path / "raw", scale="tiny")
    assert list(tmp_path.iterdir()) == []  # no output, no temporary directory left behind
    monkeypatch.undo()
    synthesize(tmp_path / "raw", seed=5, scale="tiny")
    before = _files(tmp_path / "raw")
    monkeypatch.setattr(synthetic_build, "_youtube_vos", boom)
    with pytest.raises(KeyboardInterrupt):
        synthesize(tmp_path / "raw", seed=6, scale="tiny")
    assert _files(tmp_path / "raw") == before and is_synthetic_output(tmp_path / "raw")
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


def test_killed_run_leaves_no_output_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "hodor.cli", "synthesize", "--out", str(tmp_path / "raw")]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not any((p / "coco").exists() for p in tmp_path.glob(".raw.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the run is writing
    proc.kill()  # SIGKILL: no cleanup handler runs
    proc.wait()
    assert not (tmp_path / "raw").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the killed run's temp dir
    synthesize(tmp_path / "raw", scale="tiny")
    assert [p.name for p in tmp_path.iterdir()] == ["raw"] and is_synthetic_output(tmp_path / "raw")


def test_marker_is_written_and_parsed(raw: Path) -> None:
    marker = json.loads((raw / MARKER).read_text())
    assert marker["format"] == "hodor-synthetic-raw" and marker["seed"] == 0 and marker["scale"] == "tiny"
    assert marker["counts"]["davis_val"] == SCALES["tiny"].davis_val


def test_cli_and_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hodor_main(["synthesize", "--out", str(tmp_path / "a"), "--scale", "tiny", "--seed", "2"]) == 0
    assert "synthesized" in capsys.readouterr().out
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x").write_text("x")
    assert hodor_main(["synthesize", "--out", str(tmp_path / "foreign"), "--scale", "tiny"]) == 2
    assert "marker" in capsys.readouterr().err
    params = tmp_path / "params.yaml"
    data = "data:\n  source: {source}\n  synthetic:\n    seed: 2\n    scale: {scale}\n  coco_root: c\n  davis_root: d\n  youtube_vos_root: y\n"
    params.write_text("seed: 7\n" + data.format(source="synthetic", scale="tiny"))
    proc = subprocess.run(
        [sys.executable, "stages/synthesize.py", "--params", str(params), "--out", str(tmp_path / "b")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "synthesized" in proc.stdout and _files(tmp_path / "b") == _files(tmp_path / "a")
    params.write_text(data.format(source="synthetic", scale="huge"))
    proc = subprocess.run(
        [sys.executable, "stages/synthesize.py", "--params", str(params), "--out", str(tmp_path / "c")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and "data.synthetic" in proc.stderr and "Traceback" not in proc.stderr
    # data.source: real leaves only an empty marker; switching back to synthetic replaces it.
    params.write_text(data.format(source="real", scale="tiny"))
    stage = [sys.executable, "stages/synthesize.py", "--params", str(params), "--out", str(tmp_path / "b")]
    proc = subprocess.run(stage, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and "skipped" in proc.stdout, proc.stderr
    assert [p.name for p in (tmp_path / "b").iterdir()] == [".hodor_synthetic.json"]
    params.write_text(data.format(source="synthetic", scale="tiny"))
    proc = subprocess.run(stage, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and _files(tmp_path / "b") == _files(tmp_path / "a"), proc.stderr
