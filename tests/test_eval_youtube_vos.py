"""Local YouTube-VOS scoring (seen/unseen, late objects) against the reference, and the evaluate stage."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
from test_eval_reference import perturb, random_label_map, random_sequence, ref_f, ref_j, write_davis

from hodor.atomic import write_json
from hodor.cli import main as hodor_main
from hodor.data.palette import write_label_png
from hodor.errors import InputError
from hodor.evaluate.youtube_vos import evaluate_youtube_vos

FRAMES = [f"{5 * t:05d}" for t in range(6)]
# video -> {object id: (category, first frame index)}
VIDEOS = {
    "a1b2c3d4e5": {1: ("cat", 0), 2: ("fox", 0), 3: ("dog", 2)},  # object 3 appears late
    "f6e5d4c3b2": {1: ("fox", 0), 4: ("cat", 5)},  # object 4 appears in the last frame only: skipped
}


def load_stage(repo_root, name: str):
    """Import stages/<name>.py under a private module name (no clash with other tests' imports)."""
    spec = importlib.util.spec_from_file_location(f"_eval_stage_{name}", repo_root / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make(root, rng):
    """train/meta.json (cat, dog seen), valid/meta.json, valid_gt/Annotations, predictions/Annotations."""
    train = {str(i): {"category": c, "frames": ["00000"]} for i, c in enumerate(["cat", "dog"], start=1)}
    write_json(root / "train" / "meta.json", {"videos": {"x": {"objects": train}}})
    meta, truth = {"videos": {}}, {}
    for vid, objects in VIDEOS.items():
        gts = []
        for t in range(len(FRAMES)):
            base = random_label_map(rng, 24, 32, len(objects))
            labels = np.zeros_like(base)
            for index, (obj, (_, first)) in enumerate(objects.items(), start=1):
                if t >= first:
                    labels[base == index] = obj
            gts.append(labels)
        preds = [perturb(rng, g, 0) for g in gts]  # shifted, no noise ids
        for t, (g, p) in enumerate(zip(gts, preds, strict=True)):
            write_label_png(root / "valid_gt" / "Annotations" / vid / f"{FRAMES[t]}.png", g)
            write_label_png(root / "pred" / "Annotations" / vid / f"{FRAMES[t]}.png", p)
        meta["videos"][vid] = {
            "objects": {
                str(o): {"category": c, "frames": FRAMES[first:]} for o, (c, first) in objects.items()
            }
        }
        truth[vid] = (gts, preds)
    write_json(root / "valid" / "meta.json", meta)
    return truth


def _reference(truth) -> dict[str, float]:
    groups: dict[str, list[float]] = {"J-seen": [], "F-seen": [], "J-unseen": [], "F-unseen": []}
    for vid, objects in VIDEOS.items():
        gts, preds = truth[vid]
        for obj, (category, first) in objects.items():
            frames = range(first + 1, len(FRAMES))
            if not frames:
                continue
            kind = "seen" if category in ("cat", "dog") else "unseen"
            groups[f"J-{kind}"].append(np.mean([ref_j(gts[t] == obj, preds[t] == obj) for t in frames]))
            groups[f"F-{kind}"].append(np.mean([ref_f(gts[t] == obj, preds[t] == obj) for t in frames]))
    means = {k: float(np.mean(v)) for k, v in groups.items()}
    return {"G": float(np.mean(list(means.values()))), **means}


def _evaluate(root, **kwargs):
    return evaluate_youtube_vos(
        root / "valid_gt" / "Annotations", root / "valid" / "meta.json", root / "train" / "meta.json",
        root / "pred", progress=False, **kwargs,
    )  # fmt: skip


def test_seen_unseen_scores_match_reference(tmp_path) -> None:
    truth = _make(tmp_path, np.random.default_rng(2))
    result = _evaluate(tmp_path, workers=1)
    for key, value in _reference(truth).items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-9), key
    scored = {(o.video, o.object_id): o for o in result.objects}
    assert ("f6e5d4c3b2", 4) not in scored  # nothing after its first frame
    assert scored[("a1b2c3d4e5", 3)].frames == 3 and scored[("a1b2c3d4e5", 3)].seen
    assert not scored[("a1b2c3d4e5", 2)].seen and scored[("a1b2c3d4e5", 2)].frames == 5
    assert _evaluate(tmp_path, workers=2).metrics == result.metrics


def test_youtube_vos_errors(tmp_path) -> None:
    _make(tmp_path, np.random.default_rng(3))
    pred = tmp_path / "pred" / "Annotations" / "a1b2c3d4e5"
    write_label_png(pred / "00010.png", np.full((24, 32), 7, dtype=np.uint8))
    with pytest.raises(InputError, match="video a1b2c3d4e5, frame 00010: .* id 7, which is not an object"):
        _evaluate(tmp_path, workers=1)
    (pred / "00010.png").unlink()
    with pytest.raises(InputError, match="video a1b2c3d4e5, frame 00010: prediction .* is missing"):
        _evaluate(tmp_path, workers=1)
    meta = json.loads((tmp_path / "valid" / "meta.json").read_text())
    del meta["videos"]["a1b2c3d4e5"]["objects"]["1"]["category"]
    write_json(tmp_path / "valid" / "meta.json", meta)
    with pytest.raises(InputError, match="object 1 has no category"):
        _evaluate(tmp_path, workers=1)


def test_cli_youtube_vos(tmp_path, capsys) -> None:
    _make(tmp_path, np.random.default_rng(4))
    out = tmp_path / "scores"
    argv = ["evaluate", "youtube-vos", "--root", str(tmp_path), "--results", str(tmp_path / "pred")]
    assert hodor_main([*argv, "--output", str(out), "--quiet", "--workers", "1", "--per-sequence"]) == 0
    printed = capsys.readouterr().out
    assert "J-unseen" in printed and "a1b2c3d4e5_3  dog" in printed
    header = (out / "global_results-valid.csv").read_text().splitlines()[0]
    assert header == "G,J-seen,F-seen,J-unseen,F-unseen"
    data = json.loads((out / "metrics.json").read_text())
    assert data["objects-seen"] == 2 and data["objects-unseen"] == 2
    assert "a1b2c3d4e5_3" in data["per_object"]


def test_evaluate_stage_davis_and_youtube_vos(tmp_path, repo_root, capsys) -> None:
    stage = load_stage(repo_root, "evaluate")

    raw = tmp_path / "raw"
    write_davis(raw, {"bear": random_sequence(np.random.default_rng(6), 4, 20, 30, 2)})
    _make(raw / "youtube_vos", np.random.default_rng(7))
    write_json(raw / "results" / "inference_summary.json", {"fps": 12.5, "frames": 4, "seconds": 0.32})
    params = tmp_path / "params.yaml"
    roots = (
        "data:\n  source: synthetic\n  synthetic: {seed: 0, scale: tiny}\n  coco_root: unused\n"
        f"  davis_root: {raw / 'DAVIS'}\n  youtube_vos_root: {raw / 'youtube_vos'}\n"
    )
    params.write_text(
        "evaluate:\n  workers: 1\n  youtube_vos_gt: valid_gt/Annotations\n  bootstrap_samples: 200\n"
        "  bootstrap_seed: 0\n" + roots
    )
    out = tmp_path / "metrics" / "video_dense_davis_val.json"
    argv = ["--params", str(params), "--regime", "video_dense", "--dataset", "davis_val"]
    argv += ["--predictions", str(raw / "results"), "--csv-dir", str(tmp_path / "csv")]
    assert stage.main([*argv, "--output", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert list(metrics)[:7] == ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
    assert list(metrics)[7:] == ["J&F-Mean-ci95-lo", "J&F-Mean-ci95-hi", "fps"]
    assert metrics["J&F-Mean-ci95-lo"] <= metrics["J&F-Mean"] <= metrics["J&F-Mean-ci95-hi"]
    assert metrics["fps"] == 12.5 and (tmp_path / "csv" / "per-sequence_results-val.csv").is_file()
    assert "evaluate@video_dense-davis_val: J&F-Mean" in capsys.readouterr().out
    out = tmp_path / "metrics" / "video_dense_youtube_vos_2019_val.json"
    argv = ["--params", str(params), "--regime", "video_dense", "--dataset", "youtube_vos_2019_val"]
    assert stage.main([*argv, "--predictions", str(raw / "youtube_vos" / "pred"), "--output", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert list(metrics) == ["G", "J-seen", "F-seen", "J-unseen", "F-unseen", "G-ci95-lo", "G-ci95-hi"]
    assert metrics["G-ci95-lo"] <= metrics["G"] <= metrics["G-ci95-hi"] and not math.isnan(metrics["G"])
    params.write_text(
        "evaluate:\n  workers: 0\n  youtube_vos_gt: valid_gt/Annotations\n  bootstrap_samples: 0\n  bootstrap_seed: 0\n"
    )
    assert stage.main([*argv, "--predictions", str(raw / "youtube_vos" / "pred"), "--output", str(out)]) == 2
    assert "workers must be >= 1" in capsys.readouterr().err


def test_stage_without_ground_truth_writes_nulls(tmp_path, repo_root, capsys) -> None:
    stage = load_stage(repo_root, "evaluate")

    root = tmp_path / "youtube_vos"
    _make(root, np.random.default_rng(8))
    (root / "valid_gt").rename(tmp_path / "hidden")  # the real val set: only first-frame masks released
    (tmp_path / "hidden" / "Annotations").rename(root / "valid" / "Annotations")
    params = tmp_path / "params.yaml"
    params.write_text(
        "evaluate:\n  workers: 1\n  youtube_vos_gt: valid_gt/Annotations\n  bootstrap_samples: 100\n  bootstrap_seed: 0\n"
    )
    out = tmp_path / "m.json"
    argv = [
        "--params",
        str(params),
        "--regime",
        "r",
        "--dataset",
        "youtube_vos_2019_val",
        "--raw-root",
        str(tmp_path),
    ]
    # The params name the ground truth the DVC stage depends on: a missing one is an error, not nulls.
    assert stage.main([*argv, "--predictions", str(root / "pred"), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "valid_gt/Annotations: ground truth folder not found" in err
    assert "set evaluate.youtube_vos_gt: valid/Annotations" in err and not out.exists()
    params.write_text(
        "evaluate:\n  workers: 1\n  youtube_vos_gt: valid/Annotations\n  bootstrap_samples: 100\n  bootstrap_seed: 0\n"
    )
    details = tmp_path / "details"  # a declared DVC output: it must exist even with nothing to score
    argv += ["--csv-dir", str(details)]
    assert stage.main([*argv, "--predictions", str(root / "pred"), "--output", str(out)]) == 0
    assert json.loads((details / "metrics.json").read_text())["per_object"] == {}
    assert json.loads(out.read_text()) == {
        "G": None,
        "J-seen": None,
        "F-seen": None,
        "J-unseen": None,
        "F-unseen": None,
    }


def test_synthetic_workspace_with_ground_truth_as_predictions(tmp_path) -> None:
    """The raw layouts the synth helper writes (real DAVIS / YouTube-VOS 2019 formats) score perfectly."""
    from hodor.data.synthetic import synthesize
    from hodor.evaluate.davis import evaluate_davis
    from hodor.evaluate.youtube_vos import youtube_vos_gt

    raw = tmp_path / "raw"
    synthesize(raw, seed=0, scale="tiny")
    davis = evaluate_davis(
        raw / "DAVIS", raw / "DAVIS" / "Annotations" / "480p", "val", workers=1, progress=False
    )
    assert davis.global_metrics["J&F-Mean"] == 1.0 and davis.objects
    yv = raw / "youtube_vos"
    result = evaluate_youtube_vos(
        youtube_vos_gt(yv, "valid"), yv / "valid" / "meta.json", yv / "train" / "meta.json", yv / "valid_gt",
        workers=1, progress=False,
    )  # fmt: skip
    assert result.metrics["G"] == 1.0 and any(o.seen for o in result.objects)
    assert any(not o.seen for o in result.objects)
