"""One process pool for the embarrassingly parallel work: converting sequences, scoring videos.

Workers come from a ``forkserver`` context, never plain ``fork``: a forked child inherits the parent's
threads' locks (OpenMP of torch, OpenCV's pool, tqdm's monitor), and the test suite, which imports torch
before it converts or scores, deadlocked that way. Workers run one OpenCV thread each: one process per
core already uses the cores.

Start-up matters as much as the work for short jobs (scoring DAVIS val takes seconds): a fresh worker
would import NumPy and OpenCV again. :func:`warm_up` starts the fork server early with the workers'
modules preloaded, so that it imports them once, while the caller is still busy, and every worker forked
from it starts with them loaded.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

R = TypeVar("R")


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)


def warm_up(preload: Sequence[str] = ()) -> None:
    """Start the fork server now (non-blocking), importing the ``preload`` modules once there.

    Call it before heavy work or imports of your own so that both overlap. It has no effect on a fork
    server that is already running (its modules stay as they were; workers then import what they need).
    """
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", *preload])  # "__main__": the standard library's default
    forkserver.ensure_running()


def parallel_map(
    fn: Callable[..., R],
    tasks: Sequence[Any],
    *,
    workers: int,
    desc: str,
    unit: str = "item",
    weights: Sequence[float] | None = None,
    progress: bool = True,
    star: bool = False,
    preload: Sequence[str] = (),
) -> list[R]:
    """``[fn(t) for t in tasks]`` (``fn(*t)`` with ``star``) in ``workers`` processes (1 = in this
    process), results in task order.

    ``weights`` (e.g. frames per sequence) advance the progress bar and order the submission, heaviest
    first, so that no long task is left running alone at the end. The first error (e.g. an InputError
    naming a sequence and frame) cancels what has not started and is re-raised here. ``preload``: modules
    the workers need (see :func:`warm_up`), e.g. the one defining ``fn``.
    """
    from tqdm import tqdm  # imported here: workers never need it

    weights = list(weights) if weights is not None else [1] * len(tasks)
    bar = tqdm(
        total=sum(weights), desc=desc, unit=unit, disable=not progress, leave=False, dynamic_ncols=True
    )
    call = (lambda t: fn(*t)) if star else fn
    try:
        if workers <= 1 or len(tasks) <= 1:
            results = []
            for task, weight in zip(tasks, weights, strict=True):
                results.append(call(task))
                bar.update(weight)
            return results
        warm_up(preload)
        context = multiprocessing.get_context("forkserver")
        order = sorted(range(len(tasks)), key=lambda i: -weights[i])
        with ProcessPoolExecutor(
            min(workers, len(tasks)), mp_context=context, initializer=_worker_init
        ) as pool:
            futures: dict[Future, int] = {
                (pool.submit(fn, *tasks[i]) if star else pool.submit(fn, tasks[i])): i for i in order
            }
            # as_completed: the bar moves as each task ends (a wait for FIRST_EXCEPTION would only return
            # once every task had finished, leaving the bar at 0 until the end).
            for future in as_completed(futures):
                if future.exception() is not None:
                    for other in futures:
                        other.cancel()
                    raise future.exception()
                bar.update(weights[futures[future]])
        results_by_index = {index: future.result() for future, index in futures.items()}
        return [results_by_index[i] for i in range(len(tasks))]
    finally:
        bar.close()
