"""The fast DAVIS scorer against the independent reference (tests/test_eval_reference.py), to 1e-9."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_eval_reference import (
    perturb,
    random_label_map,
    random_sequence,
    ref_boundary,
    ref_dilate,
    ref_f,
    ref_global,
    ref_j,
    ref_sequence,
    ref_statistics,
    write_davis,
)

from hodor.evaluate import measures
from hodor.evaluate.davis import evaluate_davis
from hodor.evaluate.measures import (
    _count_within,
    boundary_map,
    decay_bin_edges,
    disk,
    score_frame,
    statistics,
    tolerance_radius,
)

TOL = 1e-9


def ref_frame(gt: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([ref_j(gt == o, pred == o) for o in range(1, k + 1)]),
        np.array([ref_f(gt == o, pred == o) for o in range(1, k + 1)]),
    )


def assert_frame_matches(gt: np.ndarray, pred: np.ndarray, k: int) -> None:
    j, f = score_frame(gt, pred, k)
    rj, rf = ref_frame(gt, pred, k)
    np.testing.assert_allclose(j, rj, rtol=0, atol=TOL)
    np.testing.assert_allclose(f, rf, rtol=0, atol=TOL)


def test_radius_and_disk() -> None:
    assert tolerance_radius(480, 854) == 8
    assert tolerance_radius(30, 40) == 1  # ceil(0.4)
    d = disk(2)
    assert d.shape == (5, 5) and d.sum() == 13 and d[0, 2] and not d[0, 1]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 2), (9, 13)])
def test_boundary_map_matches_reference_on_tiny_shapes(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        m = rng.random(shape) < 0.5
        assert np.array_equal(boundary_map(m), ref_boundary(m))


def test_random_frames_match_reference() -> None:
    rng = np.random.default_rng(0)
    for _ in range(150):
        h, w = int(rng.integers(8, 90)), int(rng.integers(8, 120))  # radius 1 .. 2
        k = int(rng.integers(1, 5))
        gt = random_label_map(rng, h, w, k)
        assert_frame_matches(gt, perturb(rng, gt, k), k)


@pytest.mark.parametrize("shape", [(240, 427), (480, 854), (101, 57)])
def test_frames_at_larger_sizes_match_reference(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0])
    gt = random_label_map(rng, *shape, 3)
    assert_frame_matches(gt, perturb(rng, gt, 3), 3)


def _edge_cases(h: int, w: int) -> list[tuple[np.ndarray, np.ndarray]]:
    empty = np.zeros((h, w), dtype=np.uint8)
    full = np.ones((h, w), dtype=np.uint8)
    cases = [(empty, empty), (full, empty), (empty, full), (full, full)]
    for y, x in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)]:
        one = empty.copy()
        one[y, x] = 1
        cases += [(one, empty), (empty, one), (one, one), (one, full), (full, one)]
    border = empty.copy()
    border[:, : w // 3] = 1  # touches top, left and bottom
    corner = empty.copy()
    corner[h // 2 :, w // 2 :] = 1  # touches bottom and right
    last_row = empty.copy()
    last_row[-1, :] = 1
    last_col = empty.copy()
    last_col[:, -1] = 1
    cases += [
        (border, corner),
        (corner, border),
        (last_row, last_col),
        (last_col, last_row),
        (corner, corner),
    ]
    cases += [(border, full), (last_row, empty), (empty, last_col), (1 - corner, corner)]
    return cases


@pytest.mark.parametrize("shape", [(12, 17), (50, 70), (3, 3)])
def test_edge_case_frames_match_reference(shape: tuple[int, int]) -> None:
    for gt, pred in _edge_cases(*shape):
        assert_frame_matches(gt, pred, 1)


def test_single_pixel_and_empty_conventions() -> None:
    empty = np.zeros((10, 10), dtype=np.uint8)
    one = empty.copy()
    one[4, 4] = 1
    assert score_frame(empty, empty, 1) == (np.array([1.0]), np.array([1.0]))
    j, f = score_frame(one, empty, 1)
    assert j[0] == 0.0 and f[0] == 0.0  # P = 1, R = 0 -> F = 0
    full = np.ones((10, 10), dtype=np.uint8)
    j, f = score_frame(full, empty, 1)
    assert j[0] == 0.0 and f[0] == 1.0  # a full-frame mask has no boundary: both boundaries empty


def test_statistics_match_reference_and_decay_bins() -> None:
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 4, 5, 7, 50, 255, 256, 257, 298, 1000]:
        values = rng.random(n)
        s = statistics(values)
        np.testing.assert_allclose([s.mean, s.recall, s.decay], ref_statistics(values), rtol=0, atol=TOL)
    assert decay_bin_edges(3).tolist() == [0, 1, 1, 2, 2]
    assert decay_bin_edges(298).tolist() == [0, 74, 149, 223, 297]
    # the official uint8 ids would wrap past 255: bin 3 of 298 frames would be values[223:42] (empty)
    assert decay_bin_edges(298).astype(np.uint8)[4] == 297 - 256


def _check_sequences(result, sequences) -> None:
    per_object = []
    for scores, (gts, preds) in zip(result.sequences, sequences.values(), strict=True):
        rj, rf = ref_sequence(gts, preds)
        np.testing.assert_allclose(scores.j, rj, rtol=0, atol=TOL)
        np.testing.assert_allclose(scores.f, rf, rtol=0, atol=TOL)
        per_object += list(zip(rj, rf, strict=True))
    expected = ref_global(per_object)
    for key, value in expected.items():
        assert result.global_metrics[key] == pytest.approx(value, abs=TOL), key
    for obj, (rj, rf) in zip(result.objects, per_object, strict=True):
        assert obj.j.mean == pytest.approx(ref_statistics(rj)[0], abs=TOL)
        assert obj.f.decay == pytest.approx(ref_statistics(rf)[2], abs=TOL)


def test_dataset_matches_reference_with_void_missing_objects_and_many_sizes(tmp_path) -> None:
    rng = np.random.default_rng(7)
    sequences = {
        "three-frames": random_sequence(rng, 3, 30, 40, 2),
        "voids": random_sequence(rng, 6, 48, 64, 3, void=True),
        "odd-size": random_sequence(rng, 5, 37, 91, 4),
        "one-object": random_sequence(rng, 4, 64, 33, 1),
    }
    gts, preds = sequences["odd-size"]
    sequences["odd-size"] = (gts, [np.where(p == 4, 0, p).astype(np.uint8) for p in preds])  # never predicted
    davis, results = write_davis(tmp_path, sequences)
    result = evaluate_davis(davis, results, "val", workers=1, progress=False)
    assert [s.sequence for s in result.sequences] == list(sequences)
    assert [o.name for o in result.objects][:3] == ["three-frames_1", "three-frames_2", "voids_1"]
    _check_sequences(result, sequences)
    parallel = evaluate_davis(davis, results, "val", workers=2, progress=False)
    assert parallel.global_metrics == result.global_metrics


def test_long_sequence_of_300_frames(tmp_path) -> None:
    rng = np.random.default_rng(11)
    sequences = {"long": random_sequence(rng, 300, 12, 16, 2)}
    davis, results = write_davis(tmp_path, sequences)
    result = evaluate_davis(davis, results, "val", workers=1, progress=False)
    assert result.sequences[0].j.shape == (2, 298)
    _check_sequences(result, sequences)


@pytest.mark.parametrize("radius", [1, 2, 5, 8])
def test_count_within_equals_a_disk_dilation(radius: int, monkeypatch) -> None:
    """Both paths of the bracketed dilation: few points between the two squares (checked one by one)
    and many (one disk dilation), on sparse and dense maps."""
    measures._squares_and_ring(radius)  # cached: from here on disk() is called by the disk path only
    paths = []
    monkeypatch.setattr(measures, "disk", lambda r: paths.append("disk") or disk(r))
    find = cv2.findNonZero
    monkeypatch.setattr(cv2, "findNonZero", lambda m: paths.append("ring") or find(m))
    rng = np.random.default_rng(radius)
    for target_density, point_density in [(0.002, 0.03), (0.01, 0.03), (0.02, 0.5), (0.3, 0.5)]:
        for _ in range(6):
            shape = (int(rng.integers(radius + 1, 120)), int(rng.integers(radius + 1, 160)))
            target = rng.random(shape) < target_density
            points = rng.random(shape) < point_density
            expected = np.count_nonzero(points & ref_dilate(target, radius))
            assert _count_within(points, target, radius) == expected
    assert "ring" in paths and (
        radius < 5 or "disk" in paths
    )  # small radii: too few ring offsets to fall back
