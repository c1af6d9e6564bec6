"""The strict params loader: every mistake in params.yaml is named by its key path and file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from hodor.config import ParamsError, from_dict, load_section, to_dict


@dataclass(frozen=True)
class Inner:
    steps: int
    lr: float
    regime: Literal["sparse", "dense"] = "sparse"


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    sizes: tuple[int, ...] = ()
    path: Path | None = None
    flags: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.inner.steps < 0:
            raise ValueError("inner.steps must be >= 0")


GOOD = {"name": "x", "inner": {"steps": 3, "lr": "1e-4", "regime": "dense"}, "sizes": [1, 2], "path": "a/b",
        "flags": [True]}  # fmt: skip


def test_builds_typed_values() -> None:
    built = from_dict(Outer, GOOD)
    assert built.inner == Inner(steps=3, lr=1e-4, regime="dense")
    assert built.sizes == (1, 2) and built.path == Path("a/b") and built.flags == [True]
    assert from_dict(Outer, to_dict(built)) == built


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inner": {"steps": 3, "lr": 1.0, "regime": "dense", "typo": 1}}, "unknown key(s) inner.typo"),
        ({"inner": {"lr": 1.0, "regime": "dense"}}, "missing key(s) inner.steps"),
        ({"inner": {"steps": "3", "lr": 1.0, "regime": "dense"}}, "inner.steps: expected an integer"),
        ({"inner": {"steps": True, "lr": 1.0, "regime": "dense"}}, "inner.steps: expected an integer"),
        ({"inner": {"steps": 3, "lr": "fast", "regime": "dense"}}, "inner.lr: expected a number"),
        ({"inner": {"steps": 3, "lr": 1.0, "regime": "both"}}, "inner.regime: 'both' is not one of"),
        ({"inner": {"steps": -1, "lr": 1.0, "regime": "dense"}}, "inner.steps must be >= 0"),
        ({"sizes": [1, "x"]}, "sizes[1]: expected an integer"),
    ],
)
def test_rejects_with_key_path(change: dict, message: str) -> None:
    with pytest.raises(ParamsError) as err:
        from_dict(Outer, {**GOOD, **change}, source="params.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("params.yaml:")


def test_load_section_names_file_and_section(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  inner: {steps: 1, lr: 0.1, regime: sparse}\n  name: n\n  sizes: []\n"
                      "  path: null\n  flags: []\n")  # fmt: skip
    assert load_section(Outer, params, "train").inner.steps == 1
    with pytest.raises(ParamsError, match=r"params.yaml: missing section infer"):
        load_section(Outer, params, "infer")
    with pytest.raises(ParamsError, match="file not found"):
        load_section(Outer, tmp_path / "nope.yaml", "train")
