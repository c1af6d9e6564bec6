"""The process pool of conversion and scoring: order, errors, and a progress bar that moves while it works."""

from __future__ import annotations

import time

import pytest

import hodor.parallel as parallel
from hodor.errors import InputError


def _sleep_then_square(seconds: float) -> float:
    if seconds < 0:
        raise InputError(f"task {seconds}: negative")
    time.sleep(seconds)
    return seconds * seconds


class _RecordingBar:
    """Stands in for tqdm: records when each update came."""

    updates: list[tuple[float, float]] = []

    def __init__(self, **_: object) -> None:
        _RecordingBar.updates = []

    def update(self, n: float) -> None:
        _RecordingBar.updates.append((time.monotonic(), n))

    def close(self) -> None:
        pass


def test_results_in_task_order_and_the_bar_moves_as_tasks_end(monkeypatch) -> None:
    monkeypatch.setattr("tqdm.tqdm", _RecordingBar)
    tasks = [2.0, 0.0, 0.1]
    results = parallel.parallel_map(_sleep_then_square, tasks, workers=2, desc="t", weights=[3, 1, 1])
    assert results == [4.0, 0.0, pytest.approx(0.01)]
    times = [t for t, _ in _RecordingBar.updates]
    assert sorted(n for _, n in _RecordingBar.updates) == [1, 1, 3]
    # the short tasks are counted when they end, not when the 2-second one does
    assert times[-1] - times[0] > 1.0, _RecordingBar.updates


def test_the_first_error_is_raised_with_its_message() -> None:
    with pytest.raises(InputError, match="task -1.0: negative"):
        parallel.parallel_map(_sleep_then_square, [0.0, -1.0, 0.0], workers=2, desc="t", progress=False)
