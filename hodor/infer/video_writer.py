"""The overlay video of ``hodor segment``: H.264 that browsers play, or mp4v when the extra is missing.

Browsers play H.264 in mp4 only as 8-bit 4:2:0 (``yuv420p``), which needs even frame sizes; OpenCV's
wheels cannot encode H.264 (no libx264), so the ``[video]`` extra brings PyAV, whose wheels bundle FFmpeg
with libx264. Odd sizes are padded by repeating the last row / column (nothing of the frame is lost).
Without PyAV the writer falls back to OpenCV's MPEG-4 Part 2 (``mp4v``, what ``hodor segment`` always
wrote): playable by desktop players, not by browsers; :attr:`OverlayVideo.note` says so in one line.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

CRF = 18  # x264 constant quality: visually lossless for overlays, ~1/3 the size of crf 0
FALLBACK_NOTE = (
    "overlay.mp4 written as mp4v (MPEG-4 Part 2), which browsers do not play; for H.264: "
    "pip install 'hodor-vos[video]'"
)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The frame size H.264 4:2:0 accepts: each side rounded up to even."""
    return width + width % 2, height + height % 2


def pad_even(frame: np.ndarray) -> np.ndarray:
    """[H, W, 3] -> [H', W', 3] with H', W' even, by repeating the last row / column."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _pyav() -> ModuleType | None:
    try:
        return importlib.import_module("av")
    except ImportError:
        return None


class OverlayVideo:
    """Write [H, W, 3] uint8 BGR frames of one size to ``path``; H.264 when PyAV is installed.

    ``codec`` is ``"h264"`` or ``"mp4v"``; ``note`` is None, or the one line to show when it fell back.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], *, prefer_h264: bool = True) -> None:
        self.path, self.size = Path(path), size  # size: (width, height) of the frames given
        av = _pyav() if prefer_h264 else None
        self._container: Any = None
        self._cv: cv2.VideoWriter | None = None
        if av is not None:
            self.codec, self.note = "h264", None
            self._open_h264(av, fps)
        else:
            self.codec, self.note = "mp4v", FALLBACK_NOTE
            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)

    def _open_h264(self, av: ModuleType, fps: float) -> None:
        self._av = av
        # faststart: the index at the front, so a browser starts playing before the whole file arrived.
        self._container = av.open(str(self.path), "w", format="mp4", options={"movflags": "faststart"})
        stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = even_size(*self.size)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF)}
        self._stream = stream

    def write(self, frame_bgr: np.ndarray) -> None:
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self.size:
            raise ValueError(f"frame is {frame_bgr.shape[1]}x{frame_bgr.shape[0]}, the video {self.size}")
        if self._cv is not None:
            self._cv.write(frame_bgr)
            return
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(pad_even(frame_bgr)), format="bgr24")
        for packet in self._stream.encode(frame.reformat(format="yuv420p")):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file (the mp4 is unreadable before this)."""
        if self._cv is not None:
            self._cv.release()
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
