"""95% bootstrap intervals for J&F / G, and paired bootstraps of the difference between two runs.

Why sequences and not objects: the objects of one sequence share its frames, motion and look, so their
scores are correlated; resampling objects would pretend there is more independent evidence than there is
and give intervals that are too narrow. Each bootstrap replicate therefore draws *sequences* (DAVIS) or
*videos* (YouTube-VOS) with replacement and keeps all their objects.

The statistic is the benchmark's own, written as a mean over strata of per-stratum object means:

* DAVIS J&F-Mean: one stratum; the mean over objects of (J + F) / 2 (= (J-Mean + F-Mean) / 2, each
  object counting once);
* YouTube-VOS G: two strata, *seen* and *unseen*; G = (J-seen + F-seen + J-unseen + F-unseen) / 4 =
  (mean over seen objects of (J + F) / 2 + the same over unseen objects) / 2. The two strata are resampled
  separately (each draws as many videos as it has), so a replicate never loses a whole group and the
  seen/unseen balance of the split is kept, as the benchmark fixes it.

A paired bootstrap applies the *same* draws to two runs scored on the same split: the difference of each
replicate then reflects only how the two runs differ on the sequences drawn, not which sequences were drawn.
Draws depend only on the seed and the number of units per stratum (units in sorted name order), so the
interval of a run and every difference it takes part in use identical replicates. Percentile intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from hodor.errors import InputError

LEVEL = 0.95
ALL = "all"  # the one stratum of DAVIS
SEEN, UNSEEN = "seen", "unseen"


@dataclass(frozen=True)
class ObjectScore:
    """One scored object: its sequence (the resampling unit), stratum and (J + F) / 2."""

    unit: str
    stratum: str
    score: float


@dataclass(frozen=True)
class Interval:
    """The point value and the 95% percentile interval of the bootstrap replicates."""

    value: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Difference:
    """``a - b``: the point difference, its 95% paired interval and the share of replicates above 0."""

    value: float
    lo: float
    hi: float
    p_positive: float


@dataclass(frozen=True)
class _Stratum:
    """Per-unit sums of scores and object counts; ``sums``/``counts`` are [U] float64, units sorted."""

    units: tuple[str, ...]
    sums: np.ndarray
    counts: np.ndarray


def davis_objects(per_object: Mapping[str, Mapping[str, float]]) -> list[ObjectScore]:
    """From the DAVIS details ``per_object`` ({"<sequence>_<id>": {"J-Mean", "F-Mean"}}): one stratum."""
    return [
        ObjectScore(name.rsplit("_", 1)[0], ALL, (s["J-Mean"] + s["F-Mean"]) / 2.0)
        for name, s in per_object.items()
    ]


def youtube_vos_objects(per_object: Mapping[str, Mapping[str, object]]) -> list[ObjectScore]:
    """From the YouTube-VOS details ``per_object`` ({"<video>_<id>": {"seen", "J-Mean", "F-Mean", ...}})."""
    return [
        ObjectScore(
            name.rsplit("_", 1)[0],
            SEEN if s["seen"] else UNSEEN,
            (float(s["J-Mean"]) + float(s["F-Mean"])) / 2.0,  # type: ignore[arg-type]
        )
        for name, s in per_object.items()
    ]


def _strata(objects: Iterable[ObjectScore]) -> dict[str, _Stratum]:
    """Group objects by stratum, then by unit (sorted), summing scores and counting objects."""
    grouped: dict[str, dict[str, list[float]]] = {}
    for obj in objects:
        if not math.isfinite(obj.score):
            raise InputError(f"object of {obj.unit!r} ({obj.stratum}) has no finite score: {obj.score}")
        grouped.setdefault(obj.stratum, {}).setdefault(obj.unit, []).append(obj.score)
    out = {}
    for name in sorted(grouped):
        units = tuple(sorted(grouped[name]))
        sums = np.array([sum(grouped[name][u]) for u in units], dtype=np.float64)
        counts = np.array([len(grouped[name][u]) for u in units], dtype=np.float64)
        out[name] = _Stratum(units, sums, counts)
    return out


def _draws(strata: Mapping[str, _Stratum], samples: int, seed: int) -> dict[str, np.ndarray]:
    """Per stratum [samples, U] unit indices drawn with replacement; a function of seed and sizes only."""
    if samples < 1:
        raise ValueError(f"bootstrap samples must be >= 1, got {samples}")
    rng = np.random.default_rng(seed)
    return {name: rng.integers(0, len(s.units), size=(samples, len(s.units))) for name, s in strata.items()}


def _statistic(strata: Mapping[str, _Stratum], draws: Mapping[str, np.ndarray] | None) -> np.ndarray:
    """Mean over strata of the object mean; [samples] with ``draws``, a 0-d array without."""
    means = []
    for name, s in strata.items():
        if draws is None:
            means.append(s.sums.sum() / s.counts.sum())
        else:
            means.append(s.sums[draws[name]].sum(axis=1) / s.counts[draws[name]].sum(axis=1))
    return np.mean(means, axis=0)


def _bounds(replicates: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - LEVEL) / 2.0
    lo, hi = np.quantile(replicates, [tail, 1.0 - tail])
    return float(lo), float(hi)


def interval(
    objects: Iterable[ObjectScore], *, samples: int, seed: int, strata: tuple[str, ...] | None = None
) -> Interval | None:
    """The statistic and its 95% interval; None when a required stratum has no object (``strata``:
    the strata the statistic needs, e.g. ("seen", "unseen") for G, where G itself is undefined)."""
    grouped = _strata(objects)
    if not grouped or any(name not in grouped for name in strata or ()):
        return None
    replicates = _statistic(grouped, _draws(grouped, samples, seed))
    return Interval(float(_statistic(grouped, None)), *_bounds(replicates))


def paired_difference(
    a: Iterable[ObjectScore],
    b: Iterable[ObjectScore],
    *,
    samples: int,
    seed: int,
    strata: tuple[str, ...] | None = None,
) -> Difference | None:
    """Statistic of ``a`` minus that of ``b`` under the same draws of sequences; both runs must have scored
    the same objects of the same sequences (else :class:`InputError`). None as for :func:`interval`."""
    ga, gb = _strata(a), _strata(b)
    _check_paired(ga, gb)
    if not ga or any(name not in ga for name in strata or ()):
        return None
    draws = _draws(ga, samples, seed)
    diffs = _statistic(ga, draws) - _statistic(gb, draws)
    value = float(_statistic(ga, None) - _statistic(gb, None))
    return Difference(value, *_bounds(diffs), float(np.mean(diffs > 0)))


def _check_paired(ga: Mapping[str, _Stratum], gb: Mapping[str, _Stratum]) -> None:
    for name in sorted(set(ga) | set(gb)):
        sa, sb = ga.get(name), gb.get(name)
        ua = dict(zip(sa.units, sa.counts, strict=True)) if sa else {}
        ub = dict(zip(sb.units, sb.counts, strict=True)) if sb else {}
        if ua != ub:
            only = sorted(set(ua) ^ set(ub)) or sorted(u for u in ua if ua[u] != ub[u])
            raise InputError(
                f"paired bootstrap: the two runs scored different objects in stratum {name!r} "
                f"(e.g. sequence(s) {', '.join(only[:5])}); compare runs on the same split"
            )


# benchmark -> (the headline figure, how the details' per_object become ObjectScores, strata it needs)
HEADLINE = {
    "davis": ("J&F-Mean", davis_objects, (ALL,)),
    "youtube_vos": ("G", youtube_vos_objects, (SEEN, UNSEEN)),
}


def benchmark_objects(benchmark: str, per_object: Mapping[str, Mapping]) -> list[ObjectScore]:
    """The ObjectScores of a details ``per_object`` mapping of ``benchmark`` ("davis" | "youtube_vos")."""
    return HEADLINE[benchmark][1](per_object)


def interval_keys(figure: str) -> tuple[str, str]:
    """Flat metric keys beside ``figure`` (``J&F-Mean-ci95-lo``, ...): DVC drops lists from metrics
    files, flat numbers stay visible to ``dvc metrics diff`` and ``dvc exp show``."""
    return f"{figure}-ci95-lo", f"{figure}-ci95-hi"


def headline_interval(
    benchmark: str, per_object: Mapping[str, Mapping], *, samples: int, seed: int
) -> dict[str, float | None]:
    """``{"<figure>-ci95-lo": lo, "<figure>-ci95-hi": hi}`` for the benchmark's headline figure (None
    where the figure itself is undefined, e.g. YouTube-VOS without unseen objects)."""
    figure, _, strata = HEADLINE[benchmark]
    result = interval(benchmark_objects(benchmark, per_object), samples=samples, seed=seed, strata=strata)
    lo_key, hi_key = interval_keys(figure)
    return {lo_key: None if result is None else result.lo, hi_key: None if result is None else result.hi}
