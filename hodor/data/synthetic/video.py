"""Synthetic DAVIS 2017 and YouTube-VOS 2019 in their released raw layouts.

Files are written straight into the temporary directory that :func:`hodor.data.synthetic.synthesize`
builds and renames into place as a whole (``hodor.atomic.atomic_directory``), so single files need no
temp-and-rename of their own.

* DAVIS: every frame annotated, all objects present in frame 0 (semi-supervised protocol), ids 1..N.
* YouTube-VOS train: frames named by their index in the 30 fps source, every 5th released, each with its
  annotation; ``meta.json`` lists per object the frames in which it is visible.
* YouTube-VOS valid: same frames, but a PNG only where some object first appears, holding only the objects
  that first appear there; ``meta.json`` lists per object the frames from its first appearance to the end
  (what a method must segment). ``valid_gt/`` keeps the full masks for local scoring.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from hodor.atomic import write_json, write_text
from hodor.data.palette import davis_palette, write_label_png, youtube_vos_palette
from hodor.data.synthetic.scenes import Clip

JPEG_QUALITY = 90
FRAME_STEP = 5  # YouTube-VOS releases every 5th frame of the 30 fps source


def write_jpeg(path: Path, bgr: np.ndarray) -> None:
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV only fails on invalid arrays
        raise RuntimeError(f"JPEG encoding failed for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())


def davis_name(clip: Clip, index: int) -> str:
    """A DAVIS-looking sequence name: background and first object, hyphenated, plus a number."""
    return f"{clip.background}-{clip.categories[1].replace('_', '-')}-{index:02d}"


def youtube_vos_id(seed: int, split: str, index: int) -> str:
    """A 10-hex-digit video id like YouTube-VOS's, stable for (seed, split, index)."""
    return hashlib.sha1(f"{seed}/{split}/{index}".encode()).hexdigest()[:10]


def write_davis_sequence(root: Path, name: str, clip: Clip, *, annotated_frames: int | None = None) -> None:
    """``JPEGImages/480p/<name>/NNNNN.jpg`` for every frame, ``Annotations/480p/<name>/NNNNN.png`` for the
    first ``annotated_frames`` (all by default; test-dev releases frame 0's only)."""
    palette = davis_palette()
    for t, (frame, labels) in enumerate(zip(clip.frames, clip.labels, strict=True)):
        write_jpeg(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", frame)
        if annotated_frames is None or t < annotated_frames:
            write_label_png(root / "Annotations" / "480p" / name / f"{t:05d}.png", labels, palette)


def write_davis_imagesets(root: Path, splits: dict[str, list[str]]) -> None:
    """``ImageSets/2017/<split>.txt``: one sequence name per line."""
    for split, names in splits.items():
        write_text(root / "ImageSets" / "2017" / f"{split}.txt", "".join(f"{name}\n" for name in names))


def frame_name(t: int) -> str:
    return f"{t * FRAME_STEP:05d}"


def _visible_frames(clip: Clip, obj: int) -> list[str]:
    present = (clip.labels == obj).reshape(len(clip.labels), -1).any(axis=1)
    return [frame_name(t) for t in np.flatnonzero(present)]


def write_full_annotations(split_root: Path, vid: str, clip: Clip) -> dict:
    """A PNG for every released frame; returns the video's meta entry (frames where each object is visible)."""
    palette = youtube_vos_palette()
    for t, labels in enumerate(clip.labels):
        write_label_png(split_root / "Annotations" / vid / f"{frame_name(t)}.png", labels, palette)
    return {
        "objects": {
            str(k): {"category": c, "frames": _visible_frames(clip, k)} for k, c in clip.categories.items()
        }
    }


def write_youtube_vos_train_video(split_root: Path, vid: str, clip: Clip) -> dict:
    """JPEG + PNG for every released frame; returns the video's ``meta.json`` entry."""
    for t, frame in enumerate(clip.frames):
        write_jpeg(split_root / "JPEGImages" / vid / f"{frame_name(t)}.jpg", frame)
    return write_full_annotations(split_root, vid, clip)


def write_youtube_vos_valid_video(split_root: Path, gt_root: Path, vid: str, clip: Clip) -> tuple[dict, dict]:
    """JPEGs + first-appearance PNGs under ``split_root``, full PNGs under ``gt_root``; both meta entries."""
    palette = youtube_vos_palette()
    for t, frame in enumerate(clip.frames):
        write_jpeg(split_root / "JPEGImages" / vid / f"{frame_name(t)}.jpg", frame)
    for t in sorted(set(clip.first_frame.values())):
        new = [k for k, first in clip.first_frame.items() if first == t]
        labels = np.where(np.isin(clip.labels[t], new), clip.labels[t], 0).astype(np.uint8)
        write_label_png(split_root / "Annotations" / vid / f"{frame_name(t)}.png", labels, palette)
    to_segment = {
        str(k): {
            "category": c,
            "frames": [frame_name(t) for t in range(clip.first_frame[k], len(clip.frames))],
        }
        for k, c in clip.categories.items()
    }
    return {"objects": to_segment}, write_full_annotations(gt_root, vid, clip)


def write_meta(split_root: Path, videos: dict[str, dict]) -> None:
    """``meta.json`` in the released format: ``{"videos": {vid: {"objects": {id: {category, frames}}}}}``."""
    write_json(split_root / "meta.json", {"videos": videos})
