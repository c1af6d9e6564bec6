"""Shared helpers for the official-parity tests (pathA here; pathB/C/D in the infer/train test files).

The fixture directory comes from ``$HODOR_PARITY_FIXTURE`` (default ``<repo>/../shared/fixtures/hodor-parity``)
and every ``case_*.pt`` in it is a case. Usage::

    from parity_utils import CASE_PATHS, load_case, paper_model_with_official_weights, assert_close_official

    @pytest.mark.parametrize("case_path", CASE_PATHS, ids=lambda p: p.stem)
    def test_something(case_path):
        case = load_case(case_path)
        model = paper_model_with_official_weights()
        ...
        assert_close_official(ours, case["pathB"]["..."], "pathB ...")
"""

from __future__ import annotations

import functools
import math
import os
import zlib
from pathlib import Path

import pytest
import torch
from timm.models.swin_transformer import get_relative_position_index

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DIR = Path(
    os.environ.get("HODOR_PARITY_FIXTURE", REPO.parent / "shared" / "fixtures" / "hodor-parity")
)
CASE_PATHS: list[Path] = sorted(FIXTURE_DIR.glob("case_*.pt"))
# Mark for parity tests: skip (with the reason) where the fixture is not present, e.g. a fresh clone.
requires_fixture = pytest.mark.skipif(not CASE_PATHS, reason=f"no case_*.pt in parity fixture {FIXTURE_DIR}")

OFFICIAL_SCALES = torch.tensor([32.0, 32.0, 16.0, 16.0, 8.0, 8.0, 4.0, 4.0])


def _parse_shape(text: str) -> list[int]:
    inner = text.strip().strip("[]()")
    return [int(s) for s in inner.split(",") if s.strip()]


def official_weight(name: str, shape: list[int]) -> torch.Tensor:
    """The fixture README's rule: every float entry's value from its official name (crc32-seeded)."""
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode("utf-8")))
    x = torch.randn(shape, generator=gen)
    if name.endswith("scaling_factors"):
        return OFFICIAL_SCALES * (1 + 0.1 * x)
    if name.endswith("bias") or name.endswith("relative_position_bias_table"):
        return 0.02 * x
    if len(shape) == 1:
        return 1 + 0.1 * x if name.endswith("weight") else 0.1 * x
    return x / math.sqrt(x.numel() / shape[0])


@functools.cache
def official_state_dict() -> dict[str, torch.Tensor]:
    """The official state dict (names from ``official_state_dict.tsv``) with the fixture's weights.

    The int64 ``relative_position_index`` buffers get the 7x7 window index the official model computes.
    """
    state: dict[str, torch.Tensor] = {}
    for line in (FIXTURE_DIR / "official_state_dict.tsv").read_text().splitlines()[1:]:
        name, shape, dtype = line.split("\t")[:3]
        if name.startswith("TOTAL_") or not name:
            continue
        if "int64" in dtype:
            state[name] = get_relative_position_index(7, 7)
        else:
            state[name] = official_weight(name, _parse_shape(shape))
    return state


@functools.cache
def paper_model_with_official_weights() -> torch.nn.Module:
    """Our paper-variant model in eval mode, loaded with :func:`official_state_dict` through the mapping.

    Cached: callers must not modify it (no training on it)."""
    from hodor.model import ModelParams, build_model
    from hodor.model.checkpoint import load_model_weights

    model = build_model(ModelParams(variant="paper")).eval()
    load_model_weights(model, {"model": official_state_dict()})
    return model


@functools.cache
def load_case(path: Path) -> dict:
    """One ``case_*.pt`` (``torch.load(weights_only=True)``); cached per path."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_cases() -> list[tuple[str, dict]]:
    """Every case of the fixture as ``(stem, case)``."""
    return [(p.stem, load_case(p)) for p in CASE_PATHS]


def max_abs_diff(ours: torch.Tensor, official: torch.Tensor) -> float:
    return (ours.detach().float() - official.float()).abs().max().item()


def assert_close_official(ours: torch.Tensor, official: torch.Tensor, name: str, rel: float = 1e-4) -> float:
    """Assert ``max|ours - official| <= rel * max(1, max|official|)`` (fixture README tolerance).

    Returns the max abs diff (print it so ``pytest -s`` shows the measured figures)."""
    assert tuple(ours.shape) == tuple(official.shape), (
        f"{name}: shape {tuple(ours.shape)} vs {tuple(official.shape)}"
    )
    diff = max_abs_diff(ours, official)
    bound = rel * max(1.0, official.float().abs().max().item())
    assert diff <= bound, f"{name}: max abs diff {diff:.3g} > {bound:.3g}"
    print(f"parity {name}: max abs diff {diff:.3g} (bound {bound:.3g})")
    return diff
