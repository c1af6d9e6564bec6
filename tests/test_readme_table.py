"""README's results table is generated from the metrics files, between two markers, and nothing else moves."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hodor.atomic import write_json
from hodor.evaluate.summary import BEGIN, END


def _script(repo_root: Path):
    spec = importlib.util.spec_from_file_location("_readme_table", repo_root / "scripts" / "readme_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metrics(m: Path) -> None:
    davis = {
        "J&F-Mean": 0.4223,
        "J-Mean": 0.44,
        "F-Mean": 0.40,
        "J&F-Mean-ci95-lo": 0.381,
        "J&F-Mean-ci95-hi": 0.46,
    }
    write_json(m / "static_image_davis_val.json", {**davis, "fps": 4.97})
    write_json(
        m / "static_image_youtube_vos_2019_val.json", {"G": 0.286, "G-ci95-lo": 0.2, "G-ci95-hi": 0.35}
    )
    write_json(m / "copy_first_frame_davis_val.json", {"J&F-Mean": 0.329, "J-Mean": 0.3, "F-Mean": 0.358})
    write_json(m / "my_ablation_davis_val.json", {"J&F-Mean": 0.5, "J-Mean": 0.5, "F-Mean": 0.5})


def test_table_rows_from_metrics_between_markers_only(tmp_path: Path, repo_root: Path, capsys) -> None:
    _metrics(tmp_path / "metrics")
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nIntro | not a table row\n\n", "\n\nText after, 42.2 stays.\n"
    readme.write_text(f"{before}{BEGIN}\n| old | hand typed |\n{END}{after}")
    script = _script(repo_root)
    argv = ["--readme", str(readme), "--metrics", str(tmp_path / "metrics")]
    assert script.main([*argv, "--check"]) == 1
    assert script.main(argv) == 0 and "updated" in capsys.readouterr().out
    text = readme.read_text()
    assert text.startswith(before + BEGIN + "\n") and text.endswith(END + after)
    rows = text.split(BEGIN + "\n")[1].split("\n" + END)[0].splitlines()
    assert rows[2:] == [
        "| Copy the first-frame mask | 32.9 | 30.0 | 35.8 | — | — |",
        "| Static images (COCO) | 42.2 [38.1, 46.0] | 44.0 | 40.0 | 28.6 [20.0, 35.0] | 5.0 |",
        "| my_ablation | 50.0 | 50.0 | 50.0 | — | — |",
    ]  # the report's labels and order: baselines first, runs without metrics (untrained, video) left out,
    # a run kind the report does not know last under its own name
    assert script.main(argv) == 0 and "already current" in capsys.readouterr().out
    assert script.main([*argv, "--check"]) == 0


def test_missing_markers_or_metrics_are_clear_errors(tmp_path: Path, repo_root: Path, capsys) -> None:
    script = _script(repo_root)
    readme = tmp_path / "README.md"
    readme.write_text("| a table without markers |\n")
    _metrics(tmp_path / "metrics")
    assert script.main(["--readme", str(readme), "--metrics", str(tmp_path / "metrics")]) == 2
    assert "needs exactly one line '<!-- results-table" in capsys.readouterr().err
    assert script.main(["--readme", str(readme), "--metrics", str(tmp_path / "none")]) == 2
    assert "no <regime>_<dataset>.json metrics file" in capsys.readouterr().err


def test_the_readme_has_the_markers(repo_root: Path) -> None:
    text = (repo_root / "README.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)
