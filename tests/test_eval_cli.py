"""DAVIS scoring inputs and outputs: clear errors, the official CSV format, metrics.json, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_eval_reference import random_sequence, write_davis

from hodor.cli import main as hodor_main
from hodor.data.palette import write_label_png
from hodor.errors import InputError
from hodor.evaluate.davis import evaluate_davis
from hodor.evaluate.outputs import global_csv, per_sequence_csv, write_davis_outputs


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(5)
    sequences = {"bear": random_sequence(rng, 4, 20, 30, 2), "car, red": random_sequence(rng, 5, 24, 18, 3)}
    return write_davis(tmp_path, sequences)


def _error(davis, results, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        evaluate_davis(davis, results, progress=False, **kwargs)
    return str(info.value)


def test_missing_prediction_folder_and_png(dataset) -> None:
    davis, results = dataset
    (results / "bear" / "00002.png").unlink()
    message = _error(davis, results, workers=2)  # raised inside a worker, re-raised here
    assert "sequence bear, frame 00002" in message and "missing" in message
    for png in (results / "bear").iterdir():
        png.unlink()
    (results / "bear").rmdir()
    message = _error(davis, results, workers=1)
    assert "sequence bear" in message and "prediction folder" in message
    assert "does not exist" in _error(davis, results / "nowhere")


def test_wrong_size_rgb_and_too_high_id(dataset) -> None:
    davis, results = dataset
    path = results / "bear" / "00001.png"
    write_label_png(path, np.zeros((10, 8), dtype=np.uint8))
    assert "sequence bear, frame 00001" in (m := _error(davis, results, workers=1)) and "is 8x10" in m
    Image.new("RGB", (30, 20)).save(path)
    assert "sequence bear, frame 00001" in (m := _error(davis, results, workers=1)) and "'RGB'" in m
    labels = np.zeros((20, 30), dtype=np.uint8)
    labels[3, 3] = 3
    write_label_png(path, labels)
    message = _error(davis, results, workers=1)
    assert "sequence bear, frame 00001" in message and "id 3" in message and "only 2 object" in message


def test_unknown_set_task_and_short_sequence(dataset) -> None:
    davis, results = dataset
    assert "unknown DAVIS set 'test'" in _error(davis, results, subset="test")
    assert "set 'train'" in _error(davis, results, subset="train")  # valid name, no list file
    assert "unsupported DAVIS task" in _error(davis, results, task="unsupervised")
    for name in ("00003.png", "00002.png"):
        (davis / "Annotations" / "480p" / "bear" / name).unlink()
    assert "needs at least 3" in _error(davis, results, workers=1)


def test_csv_files_match_pandas_official_formatting(dataset, tmp_path) -> None:
    davis, results = dataset
    result = evaluate_davis(davis, results, workers=1, progress=False)
    g = result.global_metrics
    table = pd.DataFrame([[g[c] for c in g]], columns=list(g))
    assert global_csv(result) == table.to_csv(index=False, float_format="%.3f")
    rows = [(o.name, o.j.mean, o.f.mean) for o in result.objects]
    table = pd.DataFrame(rows, columns=["Sequence", "J-Mean", "F-Mean"])
    assert per_sequence_csv(result) == table.to_csv(index=False, float_format="%.3f")
    assert '"car, red_1"' in per_sequence_csv(result)  # quoted like pandas
    paths = write_davis_outputs(result, tmp_path / "out")
    assert [p.name for p in paths] == [
        "global_results-val.csv",
        "per-sequence_results-val.csv",
        "metrics.json",
    ]
    data = json.loads(paths[2].read_text())
    assert list(data)[:7] == ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
    assert data["J&F-Mean"] == g["J&F-Mean"]  # full precision
    assert set(data["per_object"]) == {"bear_1", "bear_2", "car, red_1", "car, red_2", "car, red_3"}
    assert set(data["per_object"]["bear_1"]) == {"J-Mean", "F-Mean"}


def test_cli_davis_writes_files_and_prints_table(dataset, tmp_path, capsys) -> None:
    davis, results = dataset
    out = tmp_path / "scores"
    argv = ["evaluate", "davis", "--davis-root", str(davis), "--results", str(results), "--output", str(out)]
    assert hodor_main([*argv, "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "J&F-Mean" in printed and "Total time" in printed
    assert (out / "global_results-val.csv").is_file() and (out / "metrics.json").is_file()
    assert hodor_main([*argv, "--quiet", "--set", "nope"]) == 2
    assert "unknown DAVIS set 'nope'" in capsys.readouterr().err
