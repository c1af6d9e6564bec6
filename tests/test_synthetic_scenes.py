"""Building blocks of the synthetic data: pasting, occlusion, late entry, COCO encodings."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hodor.data.synthetic.assets import cutouts
from hodor.data.synthetic.coco import compressed_rle, mask_polygons, rasterize, uncompressed_rle
from hodor.data.synthetic.render import make_track, paste
from hodor.data.synthetic.scenes import MIN_FIRST_AREA, make_clip


def _track(label: int, center: tuple[float, float], hw=(60, 80), rel_area=0.2):
    rng = np.random.default_rng(0)
    cutout = next(c for c in cutouts() if c.category == "soap")
    return make_track(
        rng, cutout, label=label, frame_hw=hw, num_frames=1, rel_area=rel_area,
        start_xy=np.array(center, float), velocity=np.zeros(2),
    )  # fmt: skip


def test_paste_changes_exactly_the_returned_mask_and_later_tracks_occlude() -> None:
    background = np.zeros((60, 80, 3), np.uint8)
    frame = background.copy()
    first = paste(frame, _track(1, (40, 30)), 0)
    assert first.any()
    assert not (frame != background).any(axis=2)[~first].any()  # nothing outside the mask is touched
    labels = np.zeros((60, 80), np.uint8)
    labels[first] = 1
    second = paste(frame, _track(2, (45, 30)), 0)
    labels[second] = 2
    assert (first & second).any() and not (labels == 1)[second].any()  # the later track wins
    assert not paste(frame, _track(3, (500, 500)), 0).any()  # fully outside: nothing pasted


def test_late_objects_are_absent_before_their_first_frame() -> None:
    pool = list(cutouts())
    clip = make_clip(np.random.default_rng(4), pool, hw=(96, 160), num_frames=8, num_objects=3, num_late=2)
    assert sorted(clip.categories) == [1, 2, 3]
    late = [k for k, first in clip.first_frame.items() if first > 0]
    assert len(late) == 2
    for k, first in clip.first_frame.items():
        assert not (clip.labels[:first] == k).any()
        assert (clip.labels[first] == k).sum() >= MIN_FIRST_AREA * 96 * 160
    assert clip.frames.shape == (8, 96, 160, 3) and clip.labels.shape == (8, 96, 160)


@pytest.mark.parametrize("corner", [False, True])
def test_rle_encodings_round_trip_through_pycocotools(corner: bool) -> None:
    mask = np.zeros((7, 9), bool)
    mask[2:5, 3:8] = True
    mask[0, 0] = corner  # COCO's uncompressed RLE must then start with a zero-length run
    for segm in (uncompressed_rle(mask), compressed_rle(mask)):
        rle = mask_utils.frPyObjects(segm, 7, 9) if isinstance(segm["counts"], list) else segm
        assert np.array_equal(mask_utils.decode(rle).astype(bool), mask)


def test_polygons_rasterize_to_a_close_mask() -> None:
    mask = np.zeros((40, 50), bool)
    mask[5:30, 10:40] = True
    mask[15:20, 20:30] = False  # a hole: the outer polygon fills it, as annotators' polygons do
    traced = rasterize(mask_polygons(mask), 40, 50)
    assert traced[15:20, 20:30].all()
    assert np.logical_xor(traced, mask).sum() <= 50 + 2 * (25 + 30)
