"""Video dynamics of the synthetic clips: camera projection, blur, out-of-plane turn, return, light."""

from __future__ import annotations

import numpy as np

from hodor.data.synthetic.motion import Camera, Lighting, VideoTrack, paste_moving
from hodor.data.synthetic.render import BackgroundPath, Track
from hodor.data.synthetic.scenes import there_and_back

HW = (60, 80)


def _l_shape() -> tuple[np.ndarray, np.ndarray]:
    """An asymmetric 20x20 cut-out (an L), left half red, right half green (BGR), and its mask."""
    mask = np.zeros((20, 20), np.uint8)
    mask[:, :6] = 255
    mask[14:, :] = 255
    bgr = np.zeros((20, 20, 3), np.uint8)
    bgr[:, :10] = (0, 0, 255)
    bgr[:, 10:] = (0, 255, 0)
    return bgr, mask


def _track(centers: np.ndarray, turn: float = 0.0, exposure: float = 1.0, square: bool = False) -> VideoTrack:
    bgr, mask = _l_shape()
    if square:  # a plain white square
        bgr, mask = np.full_like(bgr, 255), np.full_like(mask, 255)
    n = len(centers)
    base = Track(1, "thing", bgr, mask, centers, np.ones(n), np.zeros(n), 0, n)
    back = np.full_like(bgr, 200)  # a grey back side
    return VideoTrack(base, back, np.full(n, turn), (0.0, 0.0, 20.0, 0.0, 0.0), exposure)


def _still_camera(n: int, shift: float = 0.0) -> Camera:
    """Zoom 1 over a black photo; the window moves right by ``shift`` photo pixels per frame."""
    center = np.stack([100 + shift * np.arange(n), np.full(n, 100.0)], axis=1)
    return Camera(BackgroundPath(np.zeros((200, 200, 3), np.uint8), center, np.ones(n)), np.zeros((n, 2)))


def test_a_panning_camera_moves_objects_opposite_to_it() -> None:
    camera = _still_camera(3, shift=5.0)
    point = np.array([40.0, 30.0])
    assert np.allclose(camera.project(point, 0, HW)[0], point)
    assert np.allclose(camera.project(point, 2, HW)[0], point - [10.0, 0.0])
    frame = np.zeros((*HW, 3), np.uint8)
    mask = paste_moving(frame, _track(np.tile(point, (3, 1)), exposure=0.0), camera, 2)
    xs = np.nonzero(mask)[1]
    assert abs((xs.min() + xs.max()) / 2 - 30.0) <= 1.0  # drawn 10 px left of where it stands


def test_motion_blur_smears_colour_along_the_motion_and_labels_half_coverage() -> None:
    still = np.tile([39.5, 29.5], (3, 1))
    moving = np.stack([np.array([27.5, 29.5]) + [12.0 * t, 0.0] for t in range(3)])
    frames, masks = [], []
    for centers in (still, moving):
        frame = np.zeros((*HW, 3), np.uint8)
        masks.append(paste_moving(frame, _track(centers, square=True), _still_camera(3), 1))
        frames.append(frame[..., 0])
    soft = [int(((f > 10) & (f < 200)).sum()) for f in frames]
    assert soft[0] < 40 < soft[1]  # the sharp object has only a thin antialiased rim
    assert abs(int(masks[1].sum()) - int(masks[0].sum())) < 0.2 * masks[0].sum()  # half coverage ~ area
    rows_still = np.nonzero(masks[0].any(axis=1))[0]
    assert set(np.nonzero(masks[1].any(axis=1))[0]) <= set(range(rows_still.min() - 1, rows_still.max() + 2))


def test_turning_round_shows_the_mirrored_back() -> None:
    centers = np.tile([39.5, 29.5], (1, 1))
    front, back = np.zeros((*HW, 3), np.uint8), np.zeros((*HW, 3), np.uint8)
    front_mask = paste_moving(front, _track(centers, turn=0.0), _still_camera(1), 0)
    back_mask = paste_moving(back, _track(centers, turn=np.pi), _still_camera(1), 0)
    ys, xs = np.nonzero(front_mask)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    assert (back_mask[box] ^ front_mask[box][:, ::-1]).sum() <= 4 and back_mask.sum() == back_mask[box].sum()
    assert front[front_mask].max(axis=0)[2] > 200  # red on the front
    assert np.abs(back[back_mask].astype(int) - 200).max() <= 2  # grey back, no red left


def test_an_object_that_walks_out_comes_back_along_its_path() -> None:
    n = 12
    velocity = np.array([10.0, 0.0])
    centers = np.array([40.0, 30.0]) + velocity * np.arange(n)[:, None]
    base = Track(1, "thing", *_l_shape(), centers, np.ones(n), np.zeros(n), 0, n)
    back = there_and_back(base, velocity, turn=5.0).center
    assert np.allclose(back[:6], centers[:6]) and np.allclose(back[10], centers[0])
    assert back[5, 0] > 80 > back[8, 0]  # outside an 80-px-wide frame at the turn, inside again later


def test_lighting_scales_exposure_and_tilts_across_the_frame() -> None:
    light = Lighting(gain=np.array([1.0, 0.5]), slope=0.4, heading=np.zeros(2))
    frame = np.full((*HW, 3), 100, np.uint8)
    light.apply(frame, 1)
    assert 25 <= frame[:, 0].mean() < 40 and 60 < frame[:, -1].mean() <= 75  # 0.5 x (1 -/+ 0.4)
    assert (np.diff(frame[0, :, 0].astype(int)) >= 0).all()  # brighter toward the light
