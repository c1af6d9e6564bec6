"""Random video clips: which objects, where they go, who occludes whom, when they enter, leave and return.

Data design (what the clips must teach that the static COCO pseudo-videos cannot; ``motion.py`` renders
the per-frame effects):

* labelled objects (ids 1..N) and unlabelled distractors of the same category as some labelled object
  (often the very same cut-out, colour-jittered) on a collision course with it, so telling objects apart
  needs appearance *and* position, and depth order is random, so objects cross and occlude each other;
* every object moves a clip-length-relative distance (10-50% of the frame width over the clip), turns in
  the image plane, grows or shrinks, bends (non-rigid wave), turns out of plane toward a differently
  coloured back side, and is smeared by motion blur;
* the camera pans (up to half a window), zooms (about -30%..+35%) and shakes; objects live in first-frame
  coordinates and are projected through it, so the whole scene moves with the camera;
* the light drifts, flickers and sweeps across the frame;
* objects start inside the frame or (``late``, YouTube-VOS) enter through a border after frame 0; about
  one in five leaves for good before the end and one in four leaves and comes back along its path.

Sizes live in ``scales.py``: validation clips are short (10-12 DAVIS frames, 7-9 YouTube-VOS frames at the
default scale) but many, so that a J&F difference of a few points between training regimes is
measurable within the CPU budget of the default pipeline; motion per frame is correspondingly large, so
copying the first-frame mask is a weak baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hodor.data.synthetic.assets import Cutout, backgrounds
from hodor.data.synthetic.motion import VideoTrack, animate, camera_path, lighting, render_video
from hodor.data.synthetic.render import Track, make_track

# An object's first annotated mask must cover at least this fraction of the frame (a usable reference).
MIN_FIRST_AREA = 0.004
_MAX_ATTEMPTS = 40


@dataclass(frozen=True, eq=False)
class Clip:
    """A rendered clip: ``frames`` [T, H, W, 3] uint8 BGR, ``labels`` [T, H, W] uint8 ids (0 background).

    ``categories`` maps every labelled id to its category name; ``first_frame`` to the first frame the
    object is drawn (0 unless it enters late).
    """

    background: str
    frames: np.ndarray
    labels: np.ndarray
    categories: dict[int, str]
    first_frame: dict[int, int]


def pick_cutouts(rng: np.random.Generator, pool: list[Cutout], count: int) -> list[Cutout]:
    """``count`` cut-outs, category first (so the 22 coins do not dominate), distinct where possible."""
    by_category: dict[str, list[Cutout]] = {}
    for cutout in pool:
        by_category.setdefault(cutout.category, []).append(cutout)
    names = sorted(by_category)
    chosen: list[Cutout] = []
    for _ in range(count):
        options = by_category[names[rng.integers(len(names))]]
        unused = [c for c in options if c not in chosen] or options
        chosen.append(unused[rng.integers(len(unused))])
    return chosen


def _lookalike(rng: np.random.Generator, target: Cutout, pool: list[Cutout]) -> Cutout:
    """A distractor for ``target``: another instance of its category, else the same cut-out."""
    same = [c for c in pool if c.category == target.category]
    return same[rng.integers(len(same))]


def _entry(rng: np.random.Generator, hw: tuple[int, int], speed: float) -> tuple[np.ndarray, np.ndarray]:
    """A point just inside a random border and a velocity pointing into the frame."""
    h, w = hw
    side = rng.integers(4)
    along = rng.uniform(0.25, 0.75)
    inset = rng.uniform(0.08, 0.18)
    point = {
        0: (inset * w, along * h),
        1: ((1 - inset) * w, along * h),
        2: (along * w, inset * h),
        3: (along * w, (1 - inset) * h),
    }[int(side)]
    inward = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1)}[int(side)]
    sideways = rng.uniform(-0.5, 0.5, size=2) * np.array(inward[::-1])
    return np.array(point), (np.array(inward) + sideways) * speed


def _exit_velocity(
    rng: np.random.Generator, point: np.ndarray, hw: tuple[int, int], frames: float
) -> np.ndarray:
    """Velocity that carries ``point`` (and an object of up to ~40% of the frame) out through the nearest
    border within ``frames`` frames."""
    h, w = hw
    gaps = np.array([point[0], w - point[0], point[1], h - point[1]])  # left, right, top, bottom
    side = int(np.argmin(gaps))
    outward = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)][side], float)
    distance = gaps[side] + 0.4 * (w if side < 2 else h)
    return (outward + rng.uniform(-0.3, 0.3, size=2) * outward[::-1]) * distance / frames


def _plan_track(
    rng: np.random.Generator, cutout: Cutout, label: int, hw: tuple[int, int], num_frames: int, start: int
) -> Track:
    h, w = hw
    speed = rng.uniform(0.1, 0.5) * w / num_frames  # pixels per frame: 10-50% of the width per clip
    if start > 0:
        return _track(rng, cutout, label, hw, num_frames, *_entry(rng, hw, speed * 1.5), start)
    point = rng.uniform([0.15 * w, 0.2 * h], [0.85 * w, 0.8 * h])
    fate = rng.random()
    if fate < 0.2:  # leaves the frame before the end
        velocity = _exit_velocity(rng, point, hw, rng.uniform(0.5, 0.85) * num_frames)
        return _track(rng, cutout, label, hw, num_frames, point, velocity, start)
    if fate < 0.45:  # leaves and comes back: out around frame `turn`, back along the same path
        turn = rng.uniform(0.35, 0.55) * num_frames
        velocity = _exit_velocity(rng, point, hw, 0.75 * turn)
        return there_and_back(
            _track(rng, cutout, label, hw, num_frames, point, velocity, start), velocity, turn
        )
    heading = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(heading), np.sin(heading)]) * speed
    return _track(rng, cutout, label, hw, num_frames, point, velocity, start)


def there_and_back(track: Track, velocity: np.ndarray, turn: float) -> Track:
    """``track`` with its constant-velocity part reversed at frame ``turn``: it retraces its path, so an
    object that walked out of the frame walks back in (its sway is kept)."""
    t = np.arange(len(track.center), dtype=np.float64)
    back = np.minimum(t, 2 * turn - t)
    return replace(track, center=track.center + velocity[None] * (back - t)[:, None])


def _track(
    rng: np.random.Generator,
    cutout: Cutout,
    label: int,
    hw: tuple[int, int],
    num_frames: int,
    point: np.ndarray,
    velocity: np.ndarray,
    start: int,
) -> Track:
    return make_track(
        rng, cutout, label=label, frame_hw=hw, num_frames=num_frames, rel_area=rng.uniform(0.02, 0.12),
        start_xy=point - velocity * start,  # the path passes `point` at frame `start`
        velocity=velocity, start=start, jitter=0.12 if label == 0 else 0.06,
    )  # fmt: skip


def _plan_distractor(
    rng: np.random.Generator, cutout: Cutout, target: Track, hw: tuple[int, int], num_frames: int
) -> Track:
    """A look-alike on a collision course: it crosses ``target``'s path around the middle of the clip."""
    h, w = hw
    meet = int(rng.integers(num_frames // 3, max(num_frames // 3 + 1, 2 * num_frames // 3)))
    goal = target.center[meet]
    heading = rng.uniform(0, 2 * np.pi)
    point = goal + np.array([np.cos(heading), np.sin(heading)]) * rng.uniform(0.2, 0.4) * w
    velocity = (goal - point) / max(meet, 1)
    start = int(rng.integers(0, meet + 1))
    return _track(rng, cutout, 0, hw, num_frames, point + velocity * start, velocity, start)


def _plan(
    rng: np.random.Generator,
    pool: list[Cutout],
    hw: tuple[int, int],
    num_frames: int,
    num_objects: int,
    num_late: int,
    num_distractors: int,
    first_pool: list[Cutout] | None,
) -> list[Track]:
    targets = pick_cutouts(rng, pool, num_objects)
    if first_pool:
        targets[0] = pick_cutouts(rng, first_pool, 1)[0]
    starts = [0] * (num_objects - num_late) + [
        int(rng.integers(1, max(2, num_frames // 2))) for _ in range(num_late)
    ]
    tracks = [
        _plan_track(rng, c, i + 1, hw, num_frames, s)
        for i, (c, s) in enumerate(zip(targets, starts, strict=True))
    ]
    for _ in range(num_distractors):
        k = int(rng.integers(num_objects))
        cutout = _lookalike(rng, targets[k], pool)
        tracks.append(_plan_distractor(rng, cutout, tracks[k], hw, num_frames))
    order = rng.permutation(len(tracks))  # depth: first drawn = farthest
    return [tracks[i] for i in order]


def _first_areas_ok(labels: np.ndarray, tracks: list[VideoTrack]) -> bool:
    """Every labelled object covers >= MIN_FIRST_AREA of its first frame (after occlusion)."""
    need = MIN_FIRST_AREA * labels.shape[1] * labels.shape[2]
    return all(np.count_nonzero(labels[t.start] == t.label) >= need for t in tracks if t.label > 0)


def make_clip(
    rng: np.random.Generator,
    pool: list[Cutout],
    *,
    hw: tuple[int, int],
    num_frames: int,
    num_objects: int,
    num_late: int = 0,
    num_distractors: int = 0,
    first_pool: list[Cutout] | None = None,
) -> Clip:
    """Sample and render one clip; re-sample until every object's first mask is usable."""
    photos = backgrounds()
    for _ in range(_MAX_ATTEMPTS):
        name, photo = photos[rng.integers(len(photos))]
        camera = camera_path(rng, photo, hw, num_frames)
        plan = _plan(rng, pool, hw, num_frames, num_objects, num_late, num_distractors, first_pool)
        tracks = [animate(rng, track, num_frames) for track in plan]
        frames, labels = render_video(camera, tracks, lighting(rng, num_frames), hw, num_frames)
        if _first_areas_ok(labels, tracks):
            break
    else:  # pragma: no cover - would mean the sampling ranges above are broken
        raise RuntimeError(f"could not place {num_objects} visible objects in {_MAX_ATTEMPTS} attempts")
    labelled = sorted((t for t in tracks if t.label > 0), key=lambda t: t.label)
    return Clip(
        name, frames, labels, {t.label: t.category for t in labelled}, {t.label: t.start for t in labelled}
    )
