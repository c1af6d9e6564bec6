"""`hodor synthesize --quirks` writes one item per real-dataset quirk in the real raw layouts, and the
converters skip or repair exactly those items, each with its report line (the quirk corpus of issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hodor.convert.policy import Policy, report_path
from hodor.convert.run import convert_to_file, dataset_root
from hodor.data.synthetic import synthesize
from hodor.data.synthetic.build import MARKER
from hodor.data.synthetic.quirks import quirk_table

LENIENT = Policy(max_skipped_fraction=0.5)  # a tiny corpus: one quirk is a large share


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quirks") / "raw"
    synthesize(root, scale="tiny", quirks=True)
    return root


def test_every_quirk_has_its_report_line_and_nothing_else_is_dropped(corpus: Path, tmp_path: Path) -> None:
    quirks = json.loads((corpus / MARKER).read_text())["quirks"]
    names = {q["dataset"] for q in quirks} | {"davis_val", "youtube_vos_2019_val"}
    assert len(quirks) == 13 and {q["action"] for q in quirks} == {"skipped", "repaired"}
    for name in sorted(names):
        out = tmp_path / f"{name}.json"
        summary = convert_to_file(
            name, dataset_root(corpus, name), out, workers=1, progress=False, policy=LENIENT
        )
        items = json.loads(report_path(out).read_text())["items"]
        expected = {(q["item"], q["action"]) for q in quirks if q["dataset"] == name}
        assert {(e["item"], e["action"]) for e in items} == expected, (name, items)
        assert all(Path(e["file"]).exists() and e["reason"] for e in items)
        assert summary.records > 0
    assert quirk_table(quirks).count("\n") == len(quirks) + 1


def test_the_default_limit_stops_a_corpus_this_broken(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="max_skipped_fraction = 0.01"):
        convert_to_file("davis_train", corpus / "DAVIS", tmp_path / "d.json", workers=1, progress=False)
