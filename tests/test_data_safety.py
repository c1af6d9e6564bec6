"""The pipeline never deletes, moves, rewrites, `git add`s or DVC-caches anything under a real dataset
root. The end-to-end test runs a real-mode `dvc repro` over a quirk corpus (`hodor synthesize --quirks`)
with roots inside and outside the repository: it completes, every byte of the roots is as it was, and
`dvc status` is clean afterwards, and nothing DVC cached or could restore lies under a root. To stay
small it reproduces every stage that reads a dataset root (synthesize, all conversions, one inference
and scoring per dataset, the opt-in DAVIS test-dev stage, and the training they need), not the
finetuning regimes (which read only the workspace JSONs; tests/test_pipeline_e2e.py runs them)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from test_pipeline_e2e import _make_clone, _run

from hodor.data.params import git_excludes
from hodor.data.synthetic import synthesize

REPO = Path(__file__).resolve().parents[1]


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files by content hash and mode, links by target, folders by name."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {path.stat().st_mode:o}"
        else:
            out[rel] = "dir"
    return out


def _data(source: str, root: str) -> str:
    return yaml.safe_dump(
        {
            "data": {
                "source": source,
                "synthetic": {"seed": 0, "scale": "tiny"},
                "coco_root": f"{root}/coco",
                "davis_root": f"{root}/DAVIS",
                "youtube_vos_root": f"{root}/youtube_vos",
            }
        }  # fmt: skip
    )


def test_synthesize_stage_refuses_real_roots_inside_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    synthesize(out, scale="tiny")
    before = _snapshot(out)
    params = tmp_path / "params.yaml"
    params.write_text(_data("real", str(out)))
    proc = subprocess.run(
        [sys.executable, "stages/synthesize.py", "--params", str(params), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and "data.coco_root" in proc.stderr and "lies inside" in proc.stderr
    assert _snapshot(out) == before


def test_make_repro_never_git_adds_a_dataset_root(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(_data("real", "datasets").replace("datasets/youtube_vos", str(tmp_path.parent / "yt")))
    assert git_excludes(params, tmp_path) == [":(exclude)datasets/coco", ":(exclude)datasets/DAVIS"]
    paper = git_excludes(REPO / "profiles/paper.yaml", REPO)
    assert paper and all(p.startswith(":(exclude)datasets/") for p in paper)
    ignored = subprocess.run(["git", "check-ignore", "datasets/coco/x.jpg"], cwd=REPO, capture_output=True)
    assert ignored.returncode == 0, "the paper profile's dataset roots are not git-ignored"


@pytest.mark.slow
def test_real_mode_repro_over_a_quirk_corpus_leaves_the_roots_byte_identical(tmp_path: Path) -> None:
    corpus = tmp_path / "outside"
    synthesize(corpus, scale="tiny", quirks=True, testdev=True)
    work = _make_clone(tmp_path / "work")
    (work / "datasets").mkdir()
    for name in ("DAVIS", "youtube_vos"):  # inside the repository (git-ignored), as the paper profile
        os.replace(corpus / name, work / "datasets" / name)
    roots = {"coco_root": str(corpus / "coco"), "davis_root": "datasets/DAVIS",
             "youtube_vos_root": "datasets/youtube_vos"}  # fmt: skip
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["data"].update(source="real", **roots)
    params["convert"]["max_skipped_fraction"] = 0.5  # a tiny corpus: one quirk is a large share
    params["davis_testdev"]["regimes"] = ["static_image"]  # the opt-in test-dev stage reads the roots too
    # Nothing here looks at quality: 2 pretraining steps (not the e2e profile's 60) give the checkpoint
    # that inference and test-dev read.
    params["pretrain"].update(iterations=2, save_interval=1)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "commit", "-qam", "real mode"], work)
    before = {root: _snapshot(work / root) for root in roots.values()}

    targets = ["convert", "evaluate@static_image-davis_val", "evaluate@static_image-youtube_vos_2019_val"]
    targets.append("testdev")
    _run(["dvc", "repro", *targets], work)

    assert {root: _snapshot(work / root) for root in roots.values()} == before
    status = _run(["dvc", "status", "--json", "--with-deps", *targets], work)
    assert json.loads(status.stdout) == {}, status.stdout
    tracked = _run(["git", "status", "--porcelain", "--ignored", "datasets"], work).stdout
    assert all(line.startswith("!!") for line in tracked.splitlines()), tracked  # ignored, never added
    with zipfile.ZipFile(work / "outputs/static_image/davis_testdev/davis_testdev.zip") as zf:
        assert zf.namelist() and all(name.endswith(".png") for name in zf.namelist())
    report = json.loads((work / "workspace/dataset_json_annotations/davis_train.report.json").read_text())
    assert report["summary"]["skipped"] == {"videos": 1}
    cache = work / ".dvc" / "cache"
    cached = {p.stat().st_ino for p in cache.rglob("*") if p.is_file()} if cache.exists() else set()
    for root in roots.values():  # no file of a root was moved into (or linked from) the DVC cache
        assert not cached & {p.stat().st_ino for p in (work / root).rglob("*") if p.is_file()}
    # The run-cache (inference and scoring are not persist) records outputs that never lie under a root.
    entries = [yaml.safe_load(p.read_text()) for p in (cache / "runs").rglob("*") if p.is_file()]
    outs = {(work / out["path"]).resolve() for entry in entries for out in entry.get("outs", [])}
    assert any("outputs" in out.parts for out in outs), "inference was not run-cached"
    for root in roots.values():
        assert not [out for out in outs if out.is_relative_to((work / root).resolve())]
