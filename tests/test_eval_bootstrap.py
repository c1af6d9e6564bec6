"""Bootstrap intervals: coverage, sequences resampled whole, strata apart, pairing, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from hodor.errors import InputError
from hodor.evaluate.bootstrap import (
    ALL,
    SEEN,
    UNSEEN,
    ObjectScore,
    davis_objects,
    interval,
    paired_difference,
    youtube_vos_objects,
)


def _one_per_sequence(values: np.ndarray, prefix: str = "s") -> list[ObjectScore]:
    return [ObjectScore(f"{prefix}{i:03d}", ALL, float(v)) for i, v in enumerate(values)]


def test_point_value_is_the_benchmark_statistic() -> None:
    per_object = {"bear_1": {"J-Mean": 0.8, "F-Mean": 0.6}, "dog_jump_1": {"J-Mean": 0.2, "F-Mean": 0.4},
                  "dog_jump_2": {"J-Mean": 0.1, "F-Mean": 0.3}}  # fmt: skip
    objects = davis_objects(per_object)
    assert {o.unit for o in objects} == {"bear", "dog_jump"}
    result = interval(objects, samples=200, seed=0)
    assert result is not None
    assert result.value == pytest.approx((0.7 + 0.3 + 0.2) / 3)  # each object counts once
    assert result.lo <= result.value <= result.hi


def test_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    """200 validation sets of 30 sequences from a known distribution: the 95% interval should contain
    the true mean in roughly 95% of them (percentile intervals undercover slightly at n = 30)."""
    rng = np.random.default_rng(7)
    hits = 0
    for trial in range(200):
        values = rng.beta(4, 4, size=30)  # true mean 0.5
        result = interval(_one_per_sequence(values), samples=1000, seed=trial)
        assert result is not None
        hits += result.lo <= 0.5 <= result.hi
    assert 0.87 <= hits / 200 <= 0.99, hits


def test_identical_scores_give_a_zero_width_interval_and_a_gap_excludes_the_value() -> None:
    flat = interval(_one_per_sequence(np.full(12, 0.4)), samples=500, seed=1)
    assert flat is not None and flat.lo == pytest.approx(0.4) and flat.hi == pytest.approx(0.4)
    spread = interval(_one_per_sequence(np.linspace(0.6, 0.9, 40)), samples=2000, seed=1)
    assert spread is not None and spread.lo > 0.5  # far from 0.5: excluded


def test_objects_of_a_sequence_are_resampled_together() -> None:
    """One sequence with 10 objects at 1.0, nine sequences with one object at 0.0. Resampling sequences,
    a replicate misses the big sequence with probability 0.9^10 = 35%, so the 2.5% quantile is 0.0;
    resampling the 19 objects independently would put it near 0.3."""
    objects = [ObjectScore("big", ALL, 1.0) for _ in range(10)]
    objects += [ObjectScore(f"small{i}", ALL, 0.0) for i in range(9)]
    result = interval(objects, samples=2000, seed=3)
    assert result is not None
    assert result.value == pytest.approx(10 / 19)
    assert result.lo == 0.0
    assert result.hi > result.value


def test_seen_and_unseen_strata_are_resampled_separately() -> None:
    """Seen objects all score 1.0, unseen all 0.0, over videos holding different numbers of objects (one
    video holds both kinds). Drawn within each stratum, every replicate's G is exactly (1 + 0) / 2; drawn
    from one pool of videos, the balance (and even the presence) of the groups would vary."""
    per_object = {}
    for v in range(6):
        for k in range(1, v + 2):
            score = float(v % 2 == 0)
            per_object[f"vid{v}_{k}"] = {"seen": v % 2 == 0, "J-Mean": score, "F-Mean": score}
    per_object["vid1_9"] = {"seen": True, "J-Mean": 1.0, "F-Mean": 1.0}
    objects = youtube_vos_objects(per_object)
    assert {o.stratum for o in objects} == {SEEN, UNSEEN}
    result = interval(objects, samples=1000, seed=0, strata=(SEEN, UNSEEN))
    assert result is not None
    assert (result.value, result.lo, result.hi) == pytest.approx((0.5, 0.5, 0.5))


def test_a_missing_stratum_gives_no_interval() -> None:
    objects = [ObjectScore("v", SEEN, 0.5), ObjectScore("w", SEEN, 0.7)]
    assert interval(objects, samples=100, seed=0, strata=(SEEN, UNSEEN)) is None
    assert interval([], samples=100, seed=0) is None


def test_paired_difference_sees_a_small_consistent_gain_that_unpaired_intervals_hide() -> None:
    """Run b = run a + 0.01 on every sequence, with sequences spread over [0.1, 0.9]: the two intervals
    overlap almost entirely, but the paired difference is exactly 0.01 in every replicate."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.9, size=20)
    a, b = _one_per_sequence(base), _one_per_sequence(base + 0.01)
    ia, ib = interval(a, samples=2000, seed=5), interval(b, samples=2000, seed=5)
    assert ia is not None and ib is not None and ib.lo < ia.hi  # unpaired: no visible difference
    diff = paired_difference(b, a, samples=2000, seed=5)
    assert diff is not None
    assert (diff.value, diff.lo, diff.hi) == pytest.approx((0.01, 0.01, 0.01))
    assert diff.p_positive == 1.0
    reverse = paired_difference(a, b, samples=2000, seed=5)
    assert reverse is not None and reverse.p_positive == 0.0 and reverse.hi == pytest.approx(-0.01)


def test_paired_difference_of_noise_is_undecided() -> None:
    rng = np.random.default_rng(11)
    a = _one_per_sequence(rng.uniform(0, 1, size=25))
    b = _one_per_sequence(rng.uniform(0, 1, size=25))
    diff = paired_difference(a, b, samples=2000, seed=0)
    assert diff is not None
    assert diff.lo < diff.value < diff.hi
    assert 0.0 < diff.p_positive < 1.0
    assert (diff.p_positive > 0.5) == (diff.value > 0)


def test_pairing_needs_the_same_sequences_and_objects() -> None:
    a = [ObjectScore("bear", ALL, 0.5), ObjectScore("cow", ALL, 0.5)]
    with pytest.raises(InputError, match="cow"):
        paired_difference(a, [ObjectScore("bear", ALL, 0.4)], samples=10, seed=0)
    with pytest.raises(InputError, match="bear"):
        paired_difference(a, [*a, ObjectScore("bear", ALL, 0.1)], samples=10, seed=0)


def test_same_seed_same_interval_other_seed_other_draws() -> None:
    objects = _one_per_sequence(np.random.default_rng(2).uniform(size=15))
    first = interval(objects, samples=300, seed=9)
    assert first == interval(list(reversed(objects)), samples=300, seed=9)  # input order does not matter
    assert first != interval(objects, samples=300, seed=10)


def test_non_finite_score_is_an_error_naming_the_sequence() -> None:
    with pytest.raises(InputError, match="bear"):
        interval([ObjectScore("bear", ALL, float("nan"))], samples=10, seed=0)
