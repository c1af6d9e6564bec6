"""What a video shows and one photo cannot: the dynamics of the synthetic DAVIS / YouTube-VOS clips.

The static COCO pseudo-videos of pretraining are one image seen through different random crops and
affine jitters (the official augmentations). Everything below changes an object *between frames* in a way
no augmentation of a single image produces, so that video finetuning has something to learn:

* **non-rigid deformation**: the cut-out is bent by a travelling wave in its own coordinates (a flag, a
  walking animal): its silhouette changes shape from frame to frame, not only its pose;
* **out-of-plane turning**: the object turns about its vertical axis: it narrows, shows its mirrored back
  past 90 degrees, and its colours move toward a different "back side" look (``back_bgr``), so its
  appearance at frame t differs from the reference frame in kind, not only in brightness;
* **motion blur**: colour and coverage are smeared along each object's velocity in the frame (its own
  motion plus the camera's); the background is smeared along the camera's; the annotation is the blurred
  coverage thresholded at one half, as an annotator would draw it;
* **illumination change**: a global exposure drift and flicker plus a light gradient whose direction
  turns over the clip, applied to the whole composed frame (objects get darker as they walk into shade);
* **camera motion and zoom**: a pan, a zoom and a hand-held shake of the camera move the background *and*
  every object together (objects live in the coordinates of the first frame, projected through the
  camera of frame t);
* **leaving and coming back** (planned in ``scenes.py``): objects walk out through a border and return
  along the same path, so a method must re-find an object it lost.

Shapes: frames [H, W, 3] uint8 BGR, label maps [H, W] uint8, cut-outs [h, w, 3] / [h, w].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hodor.data.synthetic.render import BackgroundPath, Track, jitter_colours, render_background

_MIN_WIDTH = 0.25  # an object seen edge-on keeps a quarter of its width (a sliver would vanish)
_MAX_BLUR = 15  # pixels: longer smears hide the object entirely


@dataclass(frozen=True, eq=False)
class VideoTrack:
    """A :class:`Track` (pose in first-frame coordinates) plus what changes it over time.

    ``back_bgr`` [h, w, 3] the look it turns toward; ``turn`` [T] out-of-plane angle (radians, 0 = front);
    ``wave`` (amplitude x, amplitude y in cut-out pixels, wavelength in cut-out pixels, radians per frame,
    phase); ``exposure`` the share of a frame interval the shutter is open (motion-blur length / speed).
    """

    base: Track
    back_bgr: np.ndarray
    turn: np.ndarray
    wave: tuple[float, float, float, float, float]
    exposure: float

    @property
    def label(self) -> int:
        return self.base.label

    @property
    def category(self) -> str:
        return self.base.category

    @property
    def start(self) -> int:
        return self.base.start

    @property
    def end(self) -> int:
        return self.base.end

    @property
    def center(self) -> np.ndarray:
        return self.base.center


def animate(rng: np.random.Generator, track: Track, num_frames: int) -> VideoTrack:
    """Give ``track`` a back side, an out-of-plane turn, a deformation wave and a shutter time."""
    h, w = track.alpha.shape
    turn_speed = rng.uniform(0.0, 0.12) * rng.choice([-1.0, 1.0])  # up to ~7 degrees per frame
    turn = rng.uniform(-0.3, 0.3) + turn_speed * np.arange(num_frames)
    size = float(max(h, w))
    wave = (
        rng.uniform(0.0, 0.07) * w,
        rng.uniform(0.0, 0.07) * h,
        rng.uniform(0.5, 1.5) * size,
        rng.uniform(0.2, 0.7),
        rng.uniform(0.0, 2 * np.pi),
    )
    back = jitter_colours(rng, track.bgr, 0.45)
    return VideoTrack(track, back, turn, wave, float(rng.uniform(0.4, 1.0)))


@dataclass(frozen=True, eq=False)
class Camera:
    """Where the camera looks at frame t: the background window plus the projection of first-frame
    coordinates. ``shake`` [T, 2] is added to the window centre (photo pixels)."""

    path: BackgroundPath
    shake: np.ndarray

    def window(self, t: int) -> tuple[np.ndarray, float]:
        return self.path.center[t] + self.shake[t], float(self.path.zoom[t])

    def project(self, points: np.ndarray, t: int, hw: tuple[int, int]) -> tuple[np.ndarray, float]:
        """First-frame pixel coordinates [..., 2] -> frame-t pixel coordinates, and the scale factor.

        A first-frame pixel p sees photo point c0 + z0 (p - m) (m the frame centre); frame t shows photo
        point P at m + (P - c_t) / z_t.
        """
        middle = np.array([hw[1] / 2, hw[0] / 2])
        c0, z0 = self.window(0)
        ct, zt = self.window(t)
        return middle + (c0 + z0 * (points - middle) - ct) / zt, z0 / zt


def camera_path(
    rng: np.random.Generator, photo: np.ndarray, frame_hw: tuple[int, int], num_frames: int
) -> Camera:
    """A pan of up to half a window, a zoom in or out by up to ~35% and a small hand-held shake."""
    h, w = frame_hw
    ph, pw = photo.shape[:2]
    fit = min(ph / h, pw / w)  # zoom at which the window exactly fits the photo
    zoom0 = fit * rng.uniform(0.4, 0.75)
    zoom1 = min(zoom0 * rng.uniform(0.72, 1.35), fit * 0.9)
    ease = 0.5 - 0.5 * np.cos(np.pi * np.linspace(0, 1, num_frames))  # starts and stops smoothly
    zoom = zoom0 + (zoom1 - zoom0) * ease
    zmax = zoom.max()
    lo = np.array([w * zmax / 2, h * zmax / 2])
    hi = np.array([pw - w * zmax / 2, ph - h * zmax / 2])
    c0 = rng.uniform(lo, np.maximum(lo, hi))
    heading = rng.uniform(0, 2 * np.pi)
    c1 = c0 + np.array([np.cos(heading), np.sin(heading)]) * rng.uniform(0, 0.5) * w * zmax
    c1 = np.clip(c1, lo, np.maximum(lo, hi))
    center = c0[None] + (c1 - c0)[None] * ease[:, None]
    shake = np.cumsum(rng.normal(0.0, rng.uniform(0.0, 1.5), size=(num_frames, 2)), axis=0) * zoom[:, None]
    shake -= shake[:1]
    return Camera(BackgroundPath(photo, center, zoom), shake)


def _line_kernel(displacement: np.ndarray, exposure: float) -> np.ndarray | None:
    """Normalized line kernel of the smear a displacement (pixels per frame) leaves; None if under 1.5 px."""
    length = min(float(np.hypot(*displacement)) * exposure, _MAX_BLUR)
    if length < 1.5:
        return None
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    d = displacement / np.hypot(*displacement) * (length - 1) / 2
    c = (size - 1) / 2
    cv2.line(kernel, (round(c - d[0]), round(c - d[1])), (round(c + d[0]), round(c + d[1])), 1.0, 1)
    return kernel / kernel.sum()


def _frame_center(track: VideoTrack, camera: Camera, t: int, hw: tuple[int, int]) -> np.ndarray:
    return camera.project(track.center[t], t, hw)[0]


def _inverse_maps(
    track: VideoTrack, camera: Camera, t: int, hw: tuple[int, int], box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """For every frame pixel of ``box``, where in the cut-out it samples (float32 maps [bh, bw])."""
    base = track.base
    mh, mw = base.alpha.shape
    center, zoom = camera.project(base.center[t], t, hw)
    scale = float(base.scale[t]) * zoom
    squeeze = float(np.cos(track.turn[t]))
    sx = scale * np.sign(squeeze or 1.0) * max(abs(squeeze), _MIN_WIDTH)  # negative: the mirrored back
    a = np.deg2rad(float(base.angle[t]))
    forward = np.array([[np.cos(a) * sx, np.sin(a) * scale], [-np.sin(a) * sx, np.cos(a) * scale]])
    inverse = np.linalg.inv(forward)
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    dx, dy = xs - center[0], ys - center[1]
    u = inverse[0, 0] * dx + inverse[0, 1] * dy + (mw - 1) / 2
    v = inverse[1, 0] * dx + inverse[1, 1] * dy + (mh - 1) / 2
    amp_x, amp_y, wavelength, speed, phase = track.wave
    k = 2 * np.pi / wavelength
    u_bent = u + amp_x * np.sin(k * v + speed * t + phase)
    v_bent = v + amp_y * np.sin(k * u + speed * t + phase * 0.7)
    return u_bent.astype(np.float32), v_bent.astype(np.float32)


def _box(track: VideoTrack, camera: Camera, t: int, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Frame box that holds the object at frame t with its deformation and smear (clipped to the frame)."""
    mh, mw = track.base.alpha.shape
    center, zoom = camera.project(track.center[t], t, hw)
    reach = 0.5 * np.hypot(mh + 2 * track.wave[1], mw + 2 * track.wave[0]) * float(track.base.scale[t]) * zoom
    reach += _MAX_BLUR
    x0, y0 = np.floor(center - reach).astype(int)
    x1, y1 = np.ceil(center + reach).astype(int) + 1
    return max(x0, 0), max(y0, 0), min(x1, hw[1]), min(y1, hw[0])


def paste_moving(frame: np.ndarray, track: VideoTrack, camera: Camera, t: int) -> np.ndarray:
    """Composite ``track`` at frame ``t`` into ``frame`` in place; return its [H, W] bool label mask.

    The object's colour is blended with its coverage (soft where blurred); the label is coverage >= 0.5.
    """
    hw = frame.shape[:2]
    pasted = np.zeros(hw, bool)
    box = _box(track, camera, t, hw)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return pasted
    u, v = _inverse_maps(track, camera, t, hw, box)
    alpha = cv2.remap(track.base.alpha, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if not alpha.any():
        return pasted
    back_share = float((1.0 - np.cos(track.turn[t])) / 2)  # 0 facing the camera, 1 showing the back
    look = cv2.addWeighted(track.base.bgr, 1.0 - back_share, track.back_bgr, back_share, 0.0)
    colour = cv2.remap(look, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    cover = alpha.astype(np.float32)[..., None] / 255.0
    premultiplied = colour * cover
    t0, t1 = max(t - 1, track.start), min(t + 1, track.end - 1)
    if t1 > t0:
        velocity = (_frame_center(track, camera, t1, hw) - _frame_center(track, camera, t0, hw)) / (t1 - t0)
        kernel = _line_kernel(velocity, track.exposure)
        if kernel is not None:
            premultiplied = cv2.filter2D(premultiplied, -1, kernel, borderType=cv2.BORDER_CONSTANT)
            cover = cv2.filter2D(cover, -1, kernel, borderType=cv2.BORDER_CONSTANT)[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1.0 - cover) + premultiplied + 0.5, 0, 255).astype(np.uint8)
    pasted[y0:y1, x0:x1] = cover[..., 0] >= 0.5
    return pasted


@dataclass(frozen=True)
class Lighting:
    """Per-frame exposure ``gain`` [T] and a light gradient of ``slope`` (relative change from the frame
    centre to its edge) whose direction ``heading`` [T] (radians) turns over the clip."""

    gain: np.ndarray
    slope: float
    heading: np.ndarray

    def apply(self, frame: np.ndarray, t: int) -> None:
        """Relight ``frame`` [H, W, 3] uint8 in place (saturating at 0 and 255)."""
        h, w = frame.shape[:2]
        xs = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
        ys = (np.arange(h, dtype=np.float32) - h / 2) / (h / 2)
        ramp = np.cos(self.heading[t]) * xs[None, :] + np.sin(self.heading[t]) * ys[:, None]
        gain = (float(self.gain[t]) * (1.0 + self.slope * ramp)).astype(np.float32)[..., None]
        frame[:] = np.clip(frame * gain + 0.5, 0, 255).astype(np.uint8)


def lighting(rng: np.random.Generator, num_frames: int) -> Lighting:
    """Exposure drifting by up to +-35% over the clip with a light flicker; a gradient of up to 40%."""
    t = np.arange(num_frames)
    drift = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.75, 1.25), num_frames)
    flicker = rng.uniform(0.0, 0.06) * np.sin(2 * np.pi * t / rng.uniform(4, 12) + rng.uniform(0, 6.3))
    heading = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.15, 0.15) * t
    return Lighting(drift + flicker, float(rng.uniform(0.0, 0.4)), heading)


def render_video(
    camera: Camera, tracks: list[VideoTrack], light: Lighting, frame_hw: tuple[int, int], num_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Frames [T, H, W, 3] uint8 BGR and label maps [T, H, W] uint8 (0 background, track labels).

    ``tracks`` are drawn in list order (first = farthest), so later tracks occlude earlier ones.
    """
    h, w = frame_hw
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    labels = np.zeros((num_frames, h, w), np.uint8)
    for t in range(num_frames):
        centre, zoom = camera.window(t)
        frame = render_background(
            BackgroundPath(camera.path.photo, centre[None], np.array([zoom])), 0, frame_hw
        )
        previous = camera.window(max(t - 1, 0))[0]
        following = camera.window(min(t + 1, num_frames - 1))[0]
        pan = (previous - following) / max(min(t + 1, num_frames - 1) - max(t - 1, 0), 1) / zoom
        kernel = _line_kernel(pan, 0.7)  # the background moves opposite to the camera
        if kernel is not None:
            frame = cv2.filter2D(frame, -1, kernel, borderType=cv2.BORDER_REFLECT)
        for track in tracks:
            if track.start <= t < track.end:
                labels[t][paste_moving(frame, track, camera, t)] = track.label
        light.apply(frame, t)
        frames[t] = frame
    return frames, labels
