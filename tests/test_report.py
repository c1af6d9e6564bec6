"""The results report: tables with ours beside the paper's, plots, and notes for whatever is missing."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from hodor.atomic import write_json
from hodor.errors import InputError
from hodor.evaluate.report import ReportInputs, build_report, load_paper_results, read_ablation

DAVIS_KEYS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]


def load_stage(repo_root, name: str):
    """Import stages/<name>.py under a private module name (no clash with other tests' imports)."""
    spec = importlib.util.spec_from_file_location(f"_eval_stage_{name}", repo_root / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _paper(path, value=77.5, verified=False):
    entry = {"value": value, "source": "made up for the test", "verified": verified}
    path.write_text(
        json.dumps({"davis_val": {"static_image": {"J&F": entry, "J": {**entry, "value": None}}}})
    )
    return path


@pytest.fixture
def metrics(tmp_path):
    m = tmp_path / "metrics"
    write_json(
        m / "static_image_davis_val.json", {**dict.fromkeys(DAVIS_KEYS, 0.5), "J&F-Mean": 0.6124, "fps": 3.25}
    )
    write_json(m / "video_dense_davis_val.json", dict.fromkeys(DAVIS_KEYS, 0.75))
    yt = {"G": 0.5, "J-seen": 0.6, "F-seen": 0.7, "J-unseen": 0.3, "F-unseen": 0.4}
    write_json(m / "video_dense_youtube_vos_2019_val.json", yt)
    write_json(m / "static_image_youtube_vos_2019_val.json", dict.fromkeys(yt))  # no ground truth
    per_object = {"bear_1": {"J-Mean": 0.5, "F-Mean": 0.7}, "bear_2": {"J-Mean": 0.1, "F-Mean": 0.3}}
    write_json(m / "video_dense_davis_val" / "metrics.json", {"J&F-Mean": 0.4, "per_object": per_object})
    return m


def _live(tmp_path):
    tsv = tmp_path / "dvclive" / "static_image" / "plots" / "metrics" / "train" / "loss.tsv"
    tsv.parent.mkdir(parents=True)
    tsv.write_text("timestamp\tstep\tloss\n1\t0\t2.0\n2\t1\t1.5\n3\t2\t1.1\n4\t3")  # truncated last line
    # What hodor.train's dvclive hook writes (dvclive 3 without timestamps): step and value only.
    sparse = tmp_path / "dvclive" / "video_sparse" / "plots" / "metrics" / "train" / "loss.tsv"
    sparse.parent.mkdir(parents=True)
    sparse.write_text("step\tloss\n5\t1.75\n10\t1.29\n")
    return tmp_path / "dvclive"


def test_report_tables_plots_and_notes(tmp_path, metrics) -> None:
    inputs = ReportInputs(metrics, _paper(tmp_path / "paper.json"), _live(tmp_path), None, temporal_window=3)
    out = build_report(inputs, metrics / "report.md", tmp_path / "plots")
    text = out.read_text()
    assert "| Static images (COCO) | 61.2 (77.5†) | 50.0 (—) | 50.0 (—) | 3.25 (—) |" in text
    assert "| Video, dense | 75.0 (—) | 75.0 (—) | 75.0 (—) | — (—) |" in text
    assert "| Video, dense | 50.0 (—) | 60.0 (—) | 70.0 (—) | 30.0 (—) | 40.0 (—) | — (—) |" in text
    assert "| Static images (COCO) | — (—) | — (—)" in text and "no ground truth for static_image" in text
    assert "no metrics file for untrained, copy_first_frame, video_sparse" in text
    assert "no paired differences (evaluate.bootstrap_samples is 0" in text
    assert "Temporal window of this run: 3 (paper: 7)" in text
    assert "Temporal-window ablation: skipped" in text
    assert "Training curves of video_dense: no dvclive metrics" in text
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["davis_per_sequence.png", "training_static_image.png", "training_video_sparse.png"]
    assert "![DAVIS 2017 val: J&F per sequence](../plots/davis_per_sequence.png)" in text
    assert (tmp_path / "plots" / "davis_per_sequence.png").read_bytes()[:4] == b"\x89PNG"


def test_report_with_ablation_and_stale_plots_removed(tmp_path, metrics) -> None:
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "old.png").write_bytes(b"stale")
    ablation = tmp_path / "ablation.csv"
    header = "Experiment,temporal_window,metrics/video_dense_davis_val.json:J&F-Mean\n"
    ablation.write_text(
        header + "workspace,3,0.61\nmain,3,0.61\nexp-a,7,0.64\nexp-b,1,\n"
    )  # dvc exp show --csv
    windows, series = read_ablation(ablation)
    assert windows == [1.0, 3.0, 7.0]  # sorted, the duplicate workspace/main row kept once
    assert series["video_dense_davis_val"][1:] == [0.61, 0.64]
    out = build_report(ReportInputs(metrics, None, None, ablation), tmp_path / "report.md", plots)
    text = out.read_text()
    assert "temporal_window_ablation.png" in text and "| 7 | 64.0 |" in text
    assert not (plots / "old.png").exists() and (plots / "temporal_window_ablation.png").is_file()


def test_paper_results_file_is_valid_and_checked(tmp_path, repo_root) -> None:
    paper = load_paper_results(repo_root / "paper_results.yaml")
    assert set(paper) == {"davis_val", "youtube_vos_2019_val"}
    numbers = [n for regimes in paper.values() for metrics in regimes.values() for n in metrics.values()]
    assert all(n.source and (n.verified is False or n.value is not None) for n in numbers)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"davis_val": {"static_image": {"J&F": {"value": "high", "source": "x", "verified": False}}}}
        )
    )
    with pytest.raises(InputError, match="davis_val.static_image.J&F: value must be a number"):
        load_paper_results(bad)
    bad.write_text(
        json.dumps({"davis_val": {"static_image": {"Q": {"value": 1, "source": "x", "verified": False}}}})
    )
    with pytest.raises(InputError, match="unknown metric"):
        load_paper_results(bad)


def test_report_stage(tmp_path, metrics, repo_root, capsys) -> None:
    stage = load_stage(repo_root, "report")

    params = tmp_path / "params.yaml"
    params.write_text("temporal_window: 7\n")
    argv = ["--params", str(params), "--metrics", str(metrics), "--live", str(tmp_path / "none")]
    argv += ["--out", str(metrics / "report.md"), "--plots", str(tmp_path / "plots")]
    assert stage.main([*argv, "--paper", str(repo_root / "paper_results.yaml")]) == 0
    assert "report: " in capsys.readouterr().out
    assert "Temporal window of this run: 7" in (metrics / "report.md").read_text()
    assert stage.main([*argv, "--paper", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_paper_column_real_data_with_source_synthetic_not_comparable(tmp_path, metrics, repo_root) -> None:
    """Real data: the verified figure with its source footnote; synthetic data: no paper figure at all,
    and the report says why."""
    paper = repo_root / "paper_results.yaml"
    inputs = ReportInputs(metrics, paper, data_source="real", youtube_vos_frames="valid_all_frames")
    text = build_report(inputs, tmp_path / "r.md", tmp_path / "p1").read_text()
    assert "Frames: every frame of each video (valid_all_frames)" in text
    assert "| Static images (COCO) | 61.2 (77.5[1]) | 50.0 (74.7[1]) | 50.0 (80.2[1]) |" in text
    assert "[1] Paper figure from SegGPT (arXiv:2304.03284), Table 3" in text
    assert "not comparable" not in text
    synthetic = build_report(
        ReportInputs(metrics, paper, data_source="synthetic", youtube_vos_frames="valid", temporal_window=3),
        tmp_path / "s.md",
        tmp_path / "p2",
    ).read_text()
    assert (
        "Frames: every 5th frame of each video (valid, the standard download); the temporal window of 3"
        in synthetic
    )
    assert "77.5" not in synthetic and "paper's figures are not comparable" in synthetic
    assert "| Static images (COCO) | 61.2 (—) | 50.0 (—) | 50.0 (—) |" in synthetic


def _runs_with_details(m, gain: float) -> None:
    """Three DAVIS runs over the same 6 sequences (one or two objects each): copy, static, and static
    + ``gain`` on every object; YouTube-VOS details for two runs (seen and unseen videos)."""
    rng = np.random.default_rng(3)
    base = {f"seq{i}_{k}": float(rng.uniform(0.2, 0.8)) for i in range(6) for k in range(1, 2 + i % 2)}
    for regime, shift in (("copy_first_frame", -0.2), ("static_image", 0.0), ("video_sparse", gain)):
        per_object = {n: {"J-Mean": v + shift, "F-Mean": v + shift} for n, v in base.items()}
        objects = list(per_object.values())
        jf = sum(o["J-Mean"] for o in objects) / len(objects)
        flat = {**dict.fromkeys(DAVIS_KEYS, jf), "J&F-Mean-ci95-lo": jf - 0.05, "J&F-Mean-ci95-hi": jf + 0.04}
        write_json(m / f"{regime}_davis_val.json", flat)
        write_json(m / f"{regime}_davis_val" / "metrics.json", {"per_object": per_object})
    for regime, shift in (("static_image", 0.0), ("video_sparse", -0.1)):
        per_object = {
            f"vid{i}_1": {"seen": i % 2 == 0, "J-Mean": 0.5 + shift, "F-Mean": 0.3 + i / 20 + shift}
            for i in range(6)
        }
        write_json(m / f"{regime}_youtube_vos_2019_val" / "metrics.json", {"per_object": per_object})


def test_report_intervals_and_paired_differences(tmp_path) -> None:
    """Intervals from the metrics files beside J&F; a paired difference for every pair of runs with
    per-object details, later minus earlier; a constant gain is certain (P = 1), a constant loss never."""
    m = tmp_path / "metrics"
    _runs_with_details(m, gain=0.03)
    inputs = ReportInputs(m, bootstrap_samples=500, bootstrap_seed=1)
    text = build_report(inputs, tmp_path / "r.md", tmp_path / "plots").read_text()
    static = json.loads((m / "static_image_davis_val.json").read_text())["J&F-Mean"]
    lo, hi = 100 * (static - 0.05), 100 * (static + 0.04)
    assert f"| Static images (COCO) | {100 * static:.1f} [{lo:.1f}, {hi:.1f}] (—) |" in text
    assert "| Video, sparse − Static images (COCO) | +3.0 | [+3.0, +3.0] | 1.000 |" in text
    assert "| Static images (COCO) − Copy the first-frame mask | +20.0 | [+20.0, +20.0] | 1.000 |" in text
    assert "| Video, sparse − Copy the first-frame mask | +23.0 |" in text
    assert "over the same 500 resamples of the 6 sequences (seed 1)" in text
    assert "resamples of the videos (3 with seen objects, 3 with unseen objects) (seed 1)" in text
    assert (
        "| Video, sparse − Static images (COCO) | -10.0 | [-10.0, -10.0] | 0.000 |" in text
    )  # YouTube-VOS G
    assert text.count("| Comparison | Difference | 95% interval | P(> 0) |") == 2
    assert "Training curves of copy_first_frame" not in text  # baselines are never trained


def test_report_pairing_refuses_runs_on_different_sequences(tmp_path) -> None:
    m = tmp_path / "metrics"
    _runs_with_details(m, gain=0.0)
    details = m / "video_sparse_davis_val" / "metrics.json"
    per_object = json.loads(details.read_text())["per_object"]
    per_object["extra_1"] = {"J-Mean": 0.1, "F-Mean": 0.1}
    write_json(details, {"per_object": per_object})
    with pytest.raises(InputError, match="extra"):
        build_report(ReportInputs(m, bootstrap_samples=50), tmp_path / "r.md", tmp_path / "plots")
