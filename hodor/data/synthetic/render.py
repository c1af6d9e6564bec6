"""Pasting real objects on real photos: the geometry shared by COCO images and video clips.

A :class:`Track` is an object's pose over time (centre, scale, in-plane angle); a :class:`BackgroundPath`
a window into a photo per frame. COCO images paste one frame of a track with :func:`paste`, whose label
is exactly the pixels it covers (the same hard, thresholded mask); video clips add their dynamics in
``motion.py`` (deformation, out-of-plane turning, blur, camera, light). Tracks are drawn back to front.
Labelled tracks write their id into the label map; distractor tracks (label 0) are unlabelled
look-alikes that still occlude whatever is behind them, as unannotated objects do in DAVIS.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hodor.data.synthetic.assets import Cutout


@dataclass(frozen=True, eq=False)
class Track:
    """One pasted object over ``num_frames`` frames; drawn only at frames ``start <= t < end``.

    ``center`` [T, 2] (x, y) pixels, ``scale`` [T] (cut-out pixels -> frame pixels), ``angle`` [T]
    degrees, ``bgr`` the (colour-jittered) cut-out, ``alpha`` its mask as uint8 0/255 [h, w], ``label`` 0
    for a distractor.
    """

    label: int
    category: str
    bgr: np.ndarray
    alpha: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class BackgroundPath:
    """A window into ``photo`` (BGR [Hp, Wp, 3]): per frame its centre [T, 2] and zoom [T] (photo px per frame px)."""

    photo: np.ndarray
    center: np.ndarray
    zoom: np.ndarray


def smooth_path(
    rng: np.random.Generator, num_frames: int, start: np.ndarray, velocity: np.ndarray
) -> np.ndarray:
    """[T, 2] positions: constant velocity plus a slow sinusoidal sway (no jumps between frames)."""
    t = np.arange(num_frames, dtype=np.float64)[:, None]
    amplitude = rng.uniform(0.0, 6.0, size=2)
    period = rng.uniform(12.0, 30.0, size=2)
    phase = rng.uniform(0.0, 2 * np.pi, size=2)
    return start[None] + velocity[None] * t + amplitude * np.sin(2 * np.pi * t / period + phase)


def jitter_colours(rng: np.random.Generator, bgr: np.ndarray, strength: float) -> np.ndarray:
    """Per-channel gain and offset: look-alike instances differ a little, not in kind."""
    gain = 1.0 + rng.uniform(-strength, strength, size=3)
    offset = rng.uniform(-20 * strength, 20 * strength, size=3)
    levels = np.arange(256, dtype=np.float64)[:, None] * gain + offset  # [256, 3] per-channel lookup table
    lut = np.clip(np.rint(levels), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(bgr, lut)


def make_track(
    rng: np.random.Generator,
    cutout: Cutout,
    *,
    label: int,
    frame_hw: tuple[int, int],
    num_frames: int,
    rel_area: float,
    start_xy: np.ndarray,
    velocity: np.ndarray,
    start: int = 0,
    end: int | None = None,
    jitter: float = 0.1,
) -> Track:
    """A track whose object covers about ``rel_area`` of the frame, growing/shrinking and turning slowly."""
    h, w = frame_hw
    base = np.sqrt(rel_area * h * w / max(cutout.area, 1))
    base = min(base, 2.5)  # upsampling small cut-outs more than this only shows blur
    growth = rng.uniform(-0.3, 0.3)  # total relative scale change over the clip
    t = np.arange(num_frames) / max(num_frames - 1, 1)
    spin = rng.uniform(-1.5, 1.5)  # degrees per frame
    angle0 = rng.uniform(-15, 15)
    return Track(
        label=label,
        category=cutout.category,
        bgr=jitter_colours(rng, cutout.bgr, jitter),
        alpha=cutout.mask.astype(np.uint8) * 255,
        center=smooth_path(rng, num_frames, start_xy, velocity),
        scale=base * (1.0 + growth * t),
        angle=angle0 + spin * np.arange(num_frames),
        start=start,
        end=num_frames if end is None else end,
    )


def _object_matrix(track: Track, t: int) -> np.ndarray:
    """2x3 affine map from cut-out pixels to frame pixels (rotate+scale about the cut-out centre)."""
    mh, mw = track.alpha.shape
    matrix = cv2.getRotationMatrix2D(
        ((mw - 1) / 2, (mh - 1) / 2), float(track.angle[t]), float(track.scale[t])
    )
    matrix[:, 2] += track.center[t] - np.array([(mw - 1) / 2, (mh - 1) / 2])
    return matrix


def _bounds(
    matrix: np.ndarray, hw_src: tuple[int, int], hw_dst: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Frame box (x0, y0, x1, y1) covering the warped cut-out, clipped to the frame (may be empty)."""
    mh, mw = hw_src
    corners = np.array([[0, 0, 1], [mw, 0, 1], [0, mh, 1], [mw, mh, 1]], np.float64) @ matrix.T
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    return max(x0, 0), max(y0, 0), min(x1, hw_dst[1]), min(y1, hw_dst[0])


def paste(frame: np.ndarray, track: Track, t: int) -> np.ndarray:
    """Paste ``track`` at frame ``t`` into ``frame`` in place; return its [H, W] bool pasted mask.

    Only the box the object lands in is warped (objects cover a few percent of the frame).
    """
    h, w = frame.shape[:2]
    matrix = _object_matrix(track, t)
    pasted = np.zeros((h, w), bool)
    x0, y0, x1, y1 = _bounds(matrix, track.alpha.shape, (h, w))
    if x1 <= x0 or y1 <= y0:
        return pasted
    matrix[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    mask = cv2.warpAffine(track.alpha, matrix, size, flags=cv2.INTER_LINEAR) >= 128
    if mask.any():
        pixels = cv2.warpAffine(
            track.bgr, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        frame[y0:y1, x0:x1][mask] = pixels[mask]
        pasted[y0:y1, x0:x1] = mask
    return pasted


def render_background(path: BackgroundPath, t: int, frame_hw: tuple[int, int]) -> np.ndarray:
    """[H, W, 3] BGR: the window of the photo at frame ``t`` resampled to the frame size."""
    h, w = frame_hw
    z = float(path.zoom[t])
    # frame pixel (x, y) samples photo pixel centre + z * (x - w/2, y - h/2)
    inverse = np.array([[z, 0, path.center[t, 0] - z * w / 2], [0, z, path.center[t, 1] - z * h / 2]])
    flags = cv2.INTER_AREA if z > 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(
        path.photo, inverse, (w, h), flags=flags | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
