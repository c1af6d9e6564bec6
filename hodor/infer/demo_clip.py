"""A short real-looking clip to try ``hodor segment`` without a video of your own.

    python -m hodor.infer.demo_clip DIR [--photo coffee|motorcycle]
    hodor segment DIR/<photo>_pan.mp4 DIR/<photo>_mask0.png --out OUT --checkpoint CKPT

A virtual camera pans and zooms across one of scikit-image's photos (40 frames, 320x240, mp4v); the
first-frame mask comes from OpenCV's GrabCut seeded with boxes drawn around the object (rough at the
edges, like a mask a person would draw quickly).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from hodor.atomic import atomic_directory
from hodor.data.palette import write_label_png
from hodor.extras import optional_import

FRAMES, OUT_HW = 40, (240, 320)


def _grabcut_coffee(img: np.ndarray) -> np.ndarray:
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.grabCut(img, mask, (70, 10, 420, 385), np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)


def _grabcut_motorcycle(img: np.ndarray) -> np.ndarray:
    mask = np.full(img.shape[:2], cv2.GC_BGD, np.uint8)
    mask[60:460, 90:690] = cv2.GC_PR_FGD
    mask[60:150, 90:420] = cv2.GC_PR_BGD  # wall and bench above the seat
    mask[60:175, 560:690] = cv2.GC_BGD  # shelf right of the handlebar
    mask[60:170, 330:470] = cv2.GC_BGD  # shelf above the tank
    mask[415:460, 330:560] = cv2.GC_BGD  # floor between the wheels
    mask[250:330, 300:500] = cv2.GC_FGD  # engine
    mask[180:230, 200:420] = cv2.GC_FGD  # seat and tank
    cv2.grabCut(img, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), 8, cv2.GC_INIT_WITH_MASK)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)


def _camera(photo: str, s: float) -> tuple[float, float, float, float]:
    """Window (height, width, centre y, centre x) in photo pixels at time s in [0, 1]."""
    if photo == "coffee":
        zoom = 1.0 + 0.35 * s
        return 380 / zoom, 507 / zoom, 200 + 20 * np.sin(np.pi * s), 300 + 90 * s
    return 480 - 130 * s, 640 - 173 * s, 250 + 15 * np.sin(2 * np.pi * s), 330 + 100 * s


def make_clip(out_dir: Path, photo: str = "coffee") -> tuple[Path, Path]:
    """Write ``<photo>_pan.mp4`` and ``<photo>_mask0.png`` (object id 1) into ``out_dir``."""
    data = optional_import("skimage.data", "the demo clip")
    img = data.coffee() if photo == "coffee" else data.stereo_motorcycle()[0]
    img = np.ascontiguousarray(img[..., ::-1])  # RGB -> BGR
    obj = _grabcut_coffee(img) if photo == "coffee" else _grabcut_motorcycle(img)
    (h, w), video, first = OUT_HW, f"{photo}_pan.mp4", f"{photo}_mask0.png"
    with atomic_directory(out_dir) as tmp:
        writer = cv2.VideoWriter(str(tmp / video), cv2.VideoWriter_fourcc(*"mp4v"), 12, (w, h))
        for t in range(FRAMES):
            win_h, win_w, cy, cx = _camera(photo, t / (FRAMES - 1))
            sx, sy = w / win_w, h / win_h
            warp = np.array([[sx, 0, -(cx - win_w / 2) * sx], [0, sy, -(cy - win_h / 2) * sy]])
            writer.write(
                cv2.warpAffine(img, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            )
            if t == 0:
                write_label_png(tmp / first, cv2.warpAffine(obj, warp, (w, h), flags=cv2.INTER_NEAREST))
        writer.release()
    return Path(out_dir) / video, Path(out_dir) / first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--photo", choices=["coffee", "motorcycle"], default="coffee")
    args = parser.parse_args()
    video, mask = make_clip(args.out, args.photo)
    print(f"wrote {video} and {mask}")


if __name__ == "__main__":
    main()
