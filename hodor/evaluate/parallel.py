"""Score independent videos in worker processes (one per core) with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from tqdm import tqdm

R = TypeVar("R")


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already; OpenCV's own threads would only compete


def parallel_map(
    fn: Callable[..., R],
    jobs: Sequence[tuple[Any, ...]],
    *,
    workers: int,
    desc: str,
    progress: bool = True,
    costs: Sequence[float] | None = None,
) -> list[R]:
    """``[fn(*job) for job in jobs]`` in ``workers`` processes (1 = in this process), in the jobs' order.

    ``costs`` (e.g. frame counts) only orders the submission, largest first, so that no long video is
    left running alone at the end. The first exception (e.g. an InputError naming a sequence and frame)
    cancels what has not started and is re-raised here.
    """
    bar = tqdm(total=len(jobs), desc=desc, unit="video", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(jobs) <= 1:
            results = []
            for job in jobs:
                results.append(fn(*job))
                bar.update()
            return results
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_worker_init) as pool:
            order = sorted(range(len(jobs)), key=lambda i: -costs[i]) if costs else range(len(jobs))
            futures = {pool.submit(fn, *jobs[index]): index for index in order}
            done: dict[int, R] = {}
            try:
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    bar.update()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return [done[i] for i in range(len(jobs))]
    finally:
        bar.close()
