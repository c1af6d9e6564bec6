"""``hodor segment VIDEO MASK --out DIR --checkpoint C``: segment your own video from a first-frame mask.

VIDEO is an mp4 (anything OpenCV reads) or a folder of frames; MASK is a PNG of the first frame whose pixel
values are object ids (an indexed DAVIS-style PNG, or a greyscale one; a black/white mask is object 1).
Writes, atomically as one folder:

    DIR/masks/<frame>.png      indexed PNG per frame (DAVIS palette), ids as in MASK
    DIR/overlay.mp4            the video with objects coloured and outlined: H.264 (yuv420p, even size;
                               browsers play it) with the [video] extra, else mp4v and a one-line note
    DIR/preview.png            four overlay frames side by side, to look at quickly
    DIR/segment_summary.json   frames, fps, settings, checkpoint
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from hodor.atomic import atomic_directory, write_bytes, write_json
from hodor.data.palette import read_label_png, write_label_png
from hodor.errors import InputError
from hodor.infer.cli import add_model_arguments, resolve_settings
from hodor.provenance import provenance

SUMMARY = "segment_summary.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="mp4 file or folder of frames")
    parser.add_argument("mask", type=Path, help="first-frame mask PNG (pixel value = object id)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (replaced if it is ours)")
    parser.add_argument("--fps", type=float, help="overlay frame rate (default: the video's, or 24)")
    add_model_arguments(parser)


def read_first_mask(path: Path) -> np.ndarray:
    """[H, W] uint8 ids; a greyscale 0/255 mask becomes object 1."""
    labels = read_label_png(path)
    ids = set(np.unique(labels).tolist()) - {0}
    if not ids:
        raise InputError(
            f"{path}: the mask has no object (every pixel is 0); paint the objects with ids 1, 2, ..."
        )
    if ids == {255}:
        labels = (labels == 255).astype(np.uint8)
    return labels


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is a file; --out must be a folder")
    if out.exists() and any(out.iterdir()) and not (out / SUMMARY).exists():
        raise InputError(
            f"{out}: exists and is not an earlier `hodor segment` output; pick an empty or new folder"
        )


def _checked(
    frames: Iterator[np.ndarray], mask: np.ndarray, mask_path: Path, video: Path
) -> Iterator[np.ndarray]:
    for t, frame in enumerate(frames):
        if t == 0 and frame.shape[:2] != mask.shape:
            raise InputError(
                f"{mask_path}: mask is {mask.shape[0]}x{mask.shape[1]} but the first frame of {video} is "
                f"{frame.shape[0]}x{frame.shape[1]}; draw the mask on the first frame at its size"
            )
        yield frame


def _preview(images: list[np.ndarray]) -> bytes:
    row = np.concatenate(images, axis=1)
    scale = min(1.0, 1600 / row.shape[1])
    row = cv2.resize(
        row, (round(row.shape[1] * scale), round(row.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )
    ok, data = cv2.imencode(".png", row)
    if not ok:
        raise RuntimeError("OpenCV could not encode the preview PNG")
    return data.tobytes()


def run(args: argparse.Namespace) -> int:
    from hodor.infer.dataset import file_provenance
    from hodor.infer.run import load_model
    from hodor.infer.segmenter import VideoSegmenter
    from hodor.infer.video_io import open_video

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params, model_params, device = resolve_settings(args)
    source = open_video(args.video, args.fps)
    mask = read_first_mask(args.mask)
    _check_out(args.out)
    model = load_model(args.checkpoint, model_params, device)
    segmenter = VideoSegmenter.from_params(model, params, device)
    segmenter.reset(source.path.name)
    segmenter.add_mask(0, mask)
    with atomic_directory(args.out) as tmp:
        frames, seconds = _segment_into(
            tmp, segmenter, source, _checked(source.frames(), mask, args.mask, source.path)
        )
        write_json(
            tmp / SUMMARY,
            {
                "video": str(source.path),
                "mask": str(args.mask),
                "frames": frames,
                "fps": frames / seconds if seconds else 0.0,
                "object_ids": sorted(int(i) for i in np.unique(mask) if i),
                "checkpoint": file_provenance(args.checkpoint),
                "infer_params": dataclasses.asdict(params),
                "versions": provenance(),  # information only
            },
            indent=1,
        )
    info = json.loads((args.out / SUMMARY).read_text())
    print(
        f"hodor segment: {frames} frames at {info['fps']:.2f} fps -> {args.out}/masks, {args.out}/overlay.mp4"
    )
    return 0


def _segment_into(tmp: Path, segmenter, source, frames: Iterator[np.ndarray]) -> tuple[int, float]:
    """Masks, overlay video and preview into ``tmp``; returns (frames, seconds of loading + forward)."""
    from hodor.infer.video_io import overlay
    from hodor.infer.video_writer import OverlayVideo

    pending: deque[np.ndarray] = deque()  # frames read ahead by the segmenter, waiting to be drawn

    def remember(items: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in items:
            pending.append(frame)
            yield frame

    picks = {0, source.frame_count // 3, 2 * source.frame_count // 3, max(0, source.frame_count - 1)}
    shown, writer, seconds = [], None, 0.0
    results = segmenter.propagate(remember(frames))
    with tqdm(total=source.frame_count or None, unit="frame", desc="segment") as bar:
        for stem in source.stems():
            start = time.perf_counter()
            result = next(results, None)
            seconds += time.perf_counter() - start
            if result is None:
                break
            write_label_png(tmp / "masks" / f"{stem}.png", result.labels)
            drawn = overlay(pending.popleft(), result.labels)
            if writer is None:
                writer = OverlayVideo(tmp / "overlay.mp4", source.fps, (drawn.shape[1], drawn.shape[0]))
                if writer.note:
                    print(f"hodor segment: note: {writer.note}", file=sys.stderr)
            writer.write(drawn)
            if result.index in picks:
                shown.append(drawn)
            bar.update(1)
    if writer is None:
        raise InputError(f"{source.path}: no frame could be read")
    writer.close()
    write_bytes(tmp / "preview.png", _preview(shown[:4]))
    return bar.n, seconds
