"""Shared pytest setup: one torch thread per test process, the longest tests first.

Several tests start subprocesses (torchrun ranks, DVC stages); one intra-op thread each keeps them from
oversubscribing the two cores, and keeps timings steady on a loaded machine.

The suite runs on pytest-xdist workers (``make test``: ``-n auto --dist worksteal``): each starts on its
share of the tests in collection order, and an idle worker takes tests not yet started from a busy one. The
end-to-end pipeline test alone takes about as long as everything else together (``--durations``): started
last, it ran alone for 8 minutes. So it is collected first, then the other slow tests, and the other
workers work through the rest beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


# Longest first (measured by `make test`'s --durations): the whole pipeline, then every other slow test.
FIRST_FILES = ("test_pipeline_e2e.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        if item.path.name in FIRST_FILES:
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)  # stable: the order inside each rank stays the collection order


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
