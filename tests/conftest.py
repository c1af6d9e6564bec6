"""Shared pytest setup: one torch thread per test process.

Several tests start subprocesses (torchrun ranks, DVC stages); one intra-op thread each keeps them from
oversubscribing the two cores, and keeps timings steady on a loaded machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _torch_threads() -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
