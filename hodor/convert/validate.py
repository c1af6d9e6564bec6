"""Checks shared by the raw-dataset readers; every failure is an InputError that names the file, the
sequence/frame or image, the field, and what to do.

The readers run these inside worker processes, so they only take plain arguments and raise; nothing is
written until every check of the whole split has passed (the JSON is then written atomically).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from hodor.data.palette import read_label_png
from hodor.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
EXIF_ORIENTATION = 0x0112  # the EXIF tag OpenCV's imread applies
VOID_ID = 255  # DAVIS marks "don't care" pixels with 255; it is never an object id
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def check_name(name: str, where: str, field: str) -> str:
    """A sequence/video/file name must be one path component: it becomes a folder and part of paths."""
    if not name or "/" in name or "\\" in name or ".." in name or name.strip() != name or name == ".":
        raise InputError(
            f"{where}: {field} {name!r} is not a plain name (it has a path separator or '..', spaces at the "
            "ends, or is empty); rename the entry (and its file or folder) so the name is one path component"
        )
    return name


def check_unique(names: Iterable[str], where: str, field: str) -> None:
    """Refuse duplicates (e.g. a sequence listed twice, or 00000.jpg next to 00000.jpeg)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(
                f"{where}: duplicate {field} {name!r}; every {field} must appear once (remove the extra "
                "entry or file)"
            )
        seen.add(name)


def list_frames(folder: Path, suffixes: tuple[str, ...], where: str) -> dict[str, Path]:
    """Frame stem -> file for the files of ``folder`` with one of ``suffixes``, refusing duplicate stems."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and not p.name.startswith("."))
    check_unique([p.stem for p in files], f"{where} ({folder})", "frame name")
    return {p.stem: p for p in files}


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """(height, width) of ``image`` as OpenCV's ``imread`` returns it: with the EXIF orientation applied.

    The one orientation rule of the project: training and inference read frames with ``cv2.imread``
    (hodor.data.image_ops.read_frame_bgr, as the official code does), which turns an image by its EXIF
    orientation tag; orientations 5-8 (transpose, 90 and 270 degree turns) swap height and width. The
    converters measure sizes by the same rule, so an image whose stored pixels match its annotation but
    whose EXIF tag turns it is caught here, not mid-training.
    """
    width, height = image.size
    if image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
        return width, height
    return height, width


def _ends_with_eoi(path: Path) -> bool:
    """True when the file's last two bytes are the JPEG end-of-image marker (not truncated)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 4:
            return False
        f.seek(-2, 2)
        return f.read(2) == b"\xff\xd9"


def check_image(path: Path, where: str) -> tuple[int, int]:
    """Decode an image cheaply to prove it is intact; returns its (height, width) as OpenCV reads it
    (EXIF orientation applied, see :func:`oriented_size`).

    JPEGs are decoded in the DCT domain at 1/8 scale (PIL ``draft``): every byte of the entropy-coded data
    is still read, so truncated or corrupt files fail, at a fraction of a full decode's cost. A JPEG whose
    headers parse and whose last bytes are the end-of-image marker skips that decode: the decode only
    ever failed on truncation (libjpeg only warns about damaged entropy data), and it was 75 % of a
    COCO conversion (benchmarks/paper_scale.py: ~6x faster per image).
    """
    try:
        with Image.open(path) as image:
            height, width = oriented_size(image)
            stored_w, stored_h = image.size
            if image.format == "JPEG" and _ends_with_eoi(path):
                return height, width
            image.draft("RGB", (max(1, stored_w // 8), max(1, stored_h // 8)))
            image.load()
    except FileNotFoundError:
        raise InputError(
            f"{where}: image {path} not found; restore the file from the dataset archive"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InputError(
            f"{where}: image {path} is unreadable or corrupt ({err}); re-download or re-extract it"
        ) from None
    return height, width


def read_mask(path: Path, where: str) -> np.ndarray:
    """Read an annotation PNG as its uint8 [H, W] id map; wide (16/32-bit) PNGs and RGB PNGs are refused."""
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode in _WIDE_MODES:
                image.load()
                top = int(np.asarray(image).max()) if image.size[0] * image.size[1] else 0
    except FileNotFoundError:
        raise InputError(f"{where}: annotation {path} not found") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise InputError(
            f"{where}: annotation {path} is unreadable or corrupt ({err}); re-download or re-extract it"
        ) from None
    if mode in _WIDE_MODES:
        detail = f"its ids reach {top} (> 255)" if top > 255 else f"it is a {mode!r} (wide) image"
        raise InputError(
            f"{where}: annotation {path} is not an 8-bit palette PNG: {detail}; object ids must be 1..254 in "
            "an indexed (mode 'P') PNG, so renumber the objects and save 8-bit"
        )
    try:
        return read_label_png(path)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def check_same_size(mask_hw: tuple[int, int], image_hw: tuple[int, int], mask: Path, image: Path, where: str):
    if tuple(mask_hw) != tuple(image_hw):
        raise InputError(
            f"{where}: mask {mask} is {mask_hw[0]}x{mask_hw[1]} (HxW) but its image {image} is "
            f"{image_hw[0]}x{image_hw[1]}; masks must have their frame's size (re-export the mask at the "
            "image resolution)"
        )


def object_ids(labels: np.ndarray) -> tuple[list[int], bool]:
    """(sorted object ids present, whether void pixels are present) of a uint8 [H, W] id map."""
    present = np.flatnonzero(np.bincount(labels.ravel(), minlength=256))
    ids = [int(i) for i in present if 0 < i < VOID_ID]
    return ids, bool(present.size and present[-1] == VOID_ID)


def check_not_only_void(ids: set[int], has_void: bool, where: str) -> None:
    """A sequence whose masks hold 255 but no real id was almost certainly saved as a 0/255 binary mask."""
    if has_void and not ids:
        raise InputError(
            f"{where}: the annotation PNGs contain only 0 and 255; 255 is the void (ignore) label, not an "
            "object. Save each object with its own id 1, 2, ... (a single object: replace 255 by 1)"
        )


def check_consecutive_ids(ids: set[int], where: str) -> None:
    """DAVIS numbers objects 1..K (its evaluation counts K from the ids); a gap means a lost object."""
    expected = set(range(1, max(ids) + 1)) if ids else set()
    if ids != expected:
        missing = sorted(expected - ids)
        raise InputError(
            f"{where}: object ids {sorted(ids)} skip {missing}; DAVIS objects must be numbered 1..K without "
            "gaps (renumber the ids in every annotation PNG of the sequence)"
        )


def check_not_empty(count: int, where: str, what: str, fix: str) -> None:
    if count == 0:
        raise InputError(f"{where}: {what}; {fix}")


def frame_labels(
    frames: dict[str, Path], masks: dict[str, Path], where: str, unit: str
) -> Iterator[tuple[str, tuple[int, int], np.ndarray | None]]:
    """(frame stem, (h, w), id map or None when unannotated) for every frame in name order.

    Every frame must decode and have the first frame's size; every mask must be an indexed PNG of its
    frame's size. ``unit`` ("sequence" / "video") names the record in the messages.
    """
    size = None
    for stem in sorted(frames):
        hw = check_image(frames[stem], f"{where}, frame {stem}")
        size = size or hw
        if hw != size:
            raise InputError(f"{where}: frame {frames[stem]} is {hw[0]}x{hw[1]} but the {unit}'s first frame "
                             f"is {size[0]}x{size[1]}; all frames of a {unit} must have one size")  # fmt: skip
        if stem not in masks:
            yield stem, hw, None
            continue
        labels = read_mask(masks[stem], f"{where}, frame {stem}")
        check_same_size(labels.shape, hw, masks[stem], frames[stem], f"{where}, frame {stem}")
        yield stem, hw, labels
