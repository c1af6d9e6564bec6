"""Training augmentations with OpenCV/numpy, following the official imgaug pipelines (hodor-training.md §5).

Every geometric transform is a 3x3 homography applied identically to the image (bicubic for crops,
bilinear for warps), the label map (nearest) and a validity map (pixels that came from outside the source
image are invalid; the official code zeroes them in the normalised image). All randomness comes from the
``numpy.random.Generator`` passed in, so a sample is a pure function of its seed.

Frames are BGR uint8 [H, W, 3]; label maps uint8 [H, W] (0 = background, 1..I objects).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CROP_FACTORS = (0.6, 0.7, 0.8)  # official arange(0.6, 0.8, 0.1) in floating point
BOX_CROP_FACTORS = (0.6, 0.7, 0.8, 0.9)  # official arange(0.6, 1.0, 0.1)


@dataclass
class Frame:
    """One augmented frame: ``image`` BGR uint8 [H, W, 3], ``labels`` uint8 [H, W], ``valid`` bool [H, W]."""

    image: np.ndarray
    labels: np.ndarray
    valid: np.ndarray


# ----------------------------------------------------------------------------------------- colour
def color_jitter_params(rng: np.random.Generator, brightness: float) -> tuple[float, float, float, float]:
    """(hue, saturation, contrast alpha, brightness) as the official augmenters sample them."""
    return (
        float(rng.integers(-12, 13)),
        float(rng.integers(-12, 13)),
        float(rng.uniform(0.95, 1.05)),
        float(rng.uniform(-brightness, brightness)),
    )


def color_jitter(image: np.ndarray, params: tuple[float, float, float, float]) -> np.ndarray:
    """imgaug's AddToHueAndSaturation, LinearContrast, AddToBrightness on a BGR uint8 image.

    imgaug expresses hue on a 0..255 scale, i.e. a shift of v is v * 180 / 255 OpenCV hue units.
    """
    hue, sat, alpha, bright = params
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.int32)
    hsv[..., 0] = np.mod(hsv[..., 0] + int(round(hue * 180 / 255)), 180)
    hsv[..., 1] = np.clip(hsv[..., 1] + int(sat), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = np.clip(128.0 + alpha * (out - 128.0), 0, 255).astype(np.uint8)
    ycc = cv2.cvtColor(out, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    ycc[..., 0] = np.clip(ycc[..., 0] + bright, 0, 255)
    return cv2.cvtColor(ycc.astype(np.uint8), cv2.COLOR_YCrCb2BGR)


# ----------------------------------------------------------------------------------------- geometry
def warp(frame: Frame, matrix: np.ndarray, cubic: bool = False) -> Frame:
    """Apply the homography ``matrix`` (source -> output pixel coordinates), keeping the size."""
    h, w = frame.labels.shape
    interp = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    image = cv2.warpPerspective(frame.image, matrix, (w, h), flags=interp, borderValue=0)
    labels = cv2.warpPerspective(frame.labels, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    valid = cv2.warpPerspective(frame.valid.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST)
    return Frame(image, labels, valid.astype(bool))


def crop_matrix(y0: float, x0: float, ch: float, cw: float, h: int, w: int) -> np.ndarray:
    """Homography cropping the window (y0, x0, ch, cw) and resizing it back to h x w."""
    sx, sy = w / cw, h / ch
    return np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy], [0, 0, 1]], dtype=np.float64)


def random_crop_matrix(rng: np.random.Generator, factor: float, h: int, w: int) -> tuple[np.ndarray, tuple]:
    ch, cw = round(h * factor), round(w * factor)
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return crop_matrix(y0, x0, ch, cw, h, w), (y0, x0, ch, cw)


def affine_matrix(
    rng: np.random.Generator, h: int, w: int, rotate: float, shear: float, translate: float = 0.0
) -> np.ndarray:
    """imgaug-style Affine about the image centre: rotation, x-shear (degrees), translation (fraction)."""
    rot, sh = np.deg2rad(rng.uniform(-rotate, rotate)), np.deg2rad(rng.uniform(-shear, shear))
    tx, ty = rng.uniform(-translate, translate) * w, rng.uniform(-translate, translate) * h
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    centre = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], dtype=np.float64)
    uncentre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    r = np.array([[np.cos(rot), -np.sin(rot), 0], [np.sin(rot), np.cos(rot), 0], [0, 0, 1]])
    s = np.array([[1, np.tan(sh), 0], [0, 1, 0], [0, 0, 1]])
    t = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    return t @ centre @ r @ s @ uncentre


def perspective_matrix(rng: np.random.Generator, h: int, w: int, lo: float, hi: float) -> np.ndarray:
    """imgaug PerspectiveTransform(scale, keep_size=True): each corner moves inwards by |N(0, scale)| of
    the image size; the resulting quadrilateral is stretched back to the full image."""
    scale = rng.uniform(lo, hi)
    d = np.abs(rng.normal(0.0, scale, size=(4, 2))) * np.array([w, h])
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    src += d * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst).astype(np.float64)


def side_crop_matrix(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """imgaug Crop(percent=(0.1, 0.25), sample_independently=False, keep_size=True)."""
    p = rng.uniform(0.10, 0.25)
    return crop_matrix(p * h, p * w, h * (1 - 2 * p), w * (1 - 2 * p), h, w)


# ----------------------------------------------------------------------------------------- area checks
def object_areas(labels: np.ndarray, num_obj: int) -> np.ndarray:
    """Pixel count per object id 1..num_obj."""
    return np.bincount(labels.ravel(), minlength=num_obj + 1)[1 : num_obj + 1]


def areas_ok(before: np.ndarray, after: np.ndarray, min_area: int, factor: float = 1.0) -> bool:
    """Every object keeps >= 50 % of its area (after in source pixels = after * factor^2) and >= min_area."""
    kept = after * factor * factor
    return bool(np.all(kept >= 0.5 * before) and np.all(after >= min_area))


def object_crop(rng: np.random.Generator, ref_labels: np.ndarray, min_area: int) -> np.ndarray | None:
    """Official crop choice for a reference mask: a random 0.6/0.7/0.8 crop passing the area checks (tried
    in that order), else the smallest 0.6..0.9 crop that contains every object's box, else None."""
    h, w = ref_labels.shape
    num_obj = int(ref_labels.max())
    before = object_areas(ref_labels, num_obj)
    for factor in CROP_FACTORS:
        matrix, (y0, x0, ch, cw) = random_crop_matrix(rng, factor, h, w)
        inside = object_areas(ref_labels[y0 : y0 + ch, x0 : x0 + cw], num_obj)
        if areas_ok(before, inside / (factor * factor), min_area, factor):
            return matrix
    ys, xs = np.nonzero(ref_labels)
    if len(ys) == 0:
        return None
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    for factor in BOX_CROP_FACTORS:
        ch, cw = round(h * factor), round(w * factor)
        if ch >= bottom - top and cw >= right - left:
            y0 = int(rng.integers(max(0, bottom - ch), min(top, h - ch) + 1))
            x0 = int(rng.integers(max(0, right - cw), min(left, w - cw) + 1))
            return crop_matrix(y0, x0, ch, cw, h, w)
    return None


# ----------------------------------------------------------------------------------------- pipelines
def static_pseudo_video(
    rng: np.random.Generator, image: np.ndarray, labels: np.ndarray, num_other: int, min_area: int
) -> list[Frame]:
    """COCO image -> [reference, other_1 .. other_K] frames (official "fancy" or "basic" augmenter, 50/50).

    The caller applies the colour jitter before, and flip / resize after.
    """
    h, w = labels.shape
    source = Frame(image, labels, np.ones((h, w), dtype=bool))
    if rng.random() < 0.5:  # fancy
        ref_crop = object_crop(rng, labels, min_area)
        ref = source if ref_crop is None else warp(source, ref_crop, cubic=True)
        factor = CROP_FACTORS[int(rng.integers(len(CROP_FACTORS)))]
        others = []
        for _ in range(num_other):
            frame = warp(source, random_crop_matrix(rng, factor, h, w)[0], cubic=True)
            if rng.random() < 0.5:
                frame = warp(frame, affine_matrix(rng, h, w, rotate=10, shear=5))
            others.append(frame)
        return [ref, *others]
    others = []
    for _ in range(num_other):  # basic: one of three transforms per other frame
        choice = int(rng.integers(3))
        if choice == 0:
            matrix = affine_matrix(rng, h, w, rotate=20, shear=10, translate=0.25)
        elif choice == 1:
            matrix = perspective_matrix(rng, h, w, 0.10, 0.12)
        else:
            matrix = side_crop_matrix(rng, h, w)
        others.append(warp(source, matrix, cubic=choice == 2))
    return [source, *others]


def video_geometric(rng: np.random.Generator, frames: list[Frame], min_area: int) -> list[Frame]:
    """Official VideoAugmenter: one transform for the whole clip, checked on the reference (frame 0) mask.

    50 %: object-preserving crop; else 50 %: Affine(rotate 20, shear 10) or Perspective(0.08-0.10), up to
    3 tries to pass the area checks; otherwise no geometric change.
    """
    h, w = frames[0].labels.shape
    ref = frames[0].labels
    num_obj = int(ref.max())
    if rng.random() < 0.5:
        matrix = object_crop(rng, ref, min_area)
        return frames if matrix is None else [warp(f, matrix, cubic=True) for f in frames]
    if rng.random() < 0.5:
        return frames
    before = object_areas(ref, num_obj)
    for _ in range(3):
        if rng.random() < 0.5:
            matrix = affine_matrix(rng, h, w, rotate=20, shear=10)
        else:
            matrix = perspective_matrix(rng, h, w, 0.08, 0.10)
        after = cv2.warpPerspective(ref, matrix, (w, h), flags=cv2.INTER_NEAREST)
        if areas_ok(before, object_areas(after, num_obj), min_area):
            return [warp(f, matrix) for f in frames]
    return frames


def hflip(frames: list[Frame]) -> list[Frame]:
    return [Frame(f.image[:, ::-1].copy(), f.labels[:, ::-1].copy(), f.valid[:, ::-1].copy()) for f in frames]


def resize_frames(frames: list[Frame], new_h: int, new_w: int) -> list[Frame]:
    """Bilinear image, nearest labels and validity."""
    out = []
    for f in frames:
        image = cv2.resize(f.image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        labels = cv2.resize(f.labels, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
        valid = cv2.resize(f.valid.astype(np.uint8), (new_w, new_h), interpolation=cv2.INTER_NEAREST)
        out.append(Frame(image, labels, valid.astype(bool)))
    return out


def pixel_budget_dims(h: int, w: int, max_area: int) -> tuple[int, int]:
    """Official COCO resize: new_h = floor(sqrt(h/w * area)), new_w = area // new_h."""
    new_h = int(np.floor(np.sqrt((h / w) * max_area)))
    return new_h, max_area // new_h
