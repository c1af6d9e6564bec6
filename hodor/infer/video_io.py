"""A user's own video: frames from an mp4 (OpenCV) or a folder of images, and the overlay drawing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hodor.data.image_ops import read_frame_bgr
from hodor.data.palette import davis_palette
from hodor.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class VideoSource:
    """Where frames come from: ``frame_paths`` for a folder, else ``path`` is a video file."""

    path: Path
    fps: float
    frame_count: int  # exact for folders; OpenCV's estimate for video files
    frame_paths: tuple[Path, ...] = ()

    def stems(self) -> Iterator[str]:
        """Output file stems: the image names for a folder, 00000, 00001, ... for a video file."""
        if self.frame_paths:
            yield from (p.stem for p in self.frame_paths)
        else:
            t = 0
            while True:
                yield f"{t:05d}"
                t += 1

    def frames(self) -> Iterator[np.ndarray]:
        """[H, W, 3] uint8 BGR frames, read lazily."""
        if self.frame_paths:
            yield from (read_frame_bgr(p) for p in self.frame_paths)
            return
        capture = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        finally:
            capture.release()


def open_video(path: Path, fps: float | None = None) -> VideoSource:
    """Open an mp4 (or any video OpenCV reads) or a folder of frames (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        frames = tuple(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        if not frames:
            raise InputError(f"{path}: folder has no frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return VideoSource(path, fps or 24.0, len(frames), frames)
    if not path.is_file():
        raise InputError(f"{path}: video not found (give an mp4 file or a folder of frames)")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError(f"{path}: OpenCV cannot open this video; convert it to mp4 (H.264) or to frames")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        native_fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return VideoSource(path, fps or (native_fps if native_fps and native_fps > 0 else 24.0), count)


def overlay(frame_bgr: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Objects coloured with the DAVIS palette (blended by ``alpha``) and outlined: [H, W, 3] uint8 BGR."""
    palette_bgr = davis_palette()[:, ::-1]
    out = frame_bgr.astype(np.float32)
    colours = palette_bgr[labels].astype(np.float32)
    on = labels > 0
    out[on] = (1 - alpha) * out[on] + alpha * colours[on]
    out = out.astype(np.uint8)
    thickness = max(1, round(min(labels.shape) / 240))
    for obj_id in np.unique(labels[on]):
        contours, _ = cv2.findContours(
            (labels == obj_id).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(out, contours, -1, (255, 255, 255), thickness + 1)
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in palette_bgr[obj_id]), thickness)
    return out
