"""Indexed ("P" mode) PNG label maps with the DAVIS and YouTube-VOS palettes.

DAVIS and YouTube-VOS store object masks as 8-bit palette PNGs whose pixel *index* is the object id
(0 background, 255 void in DAVIS). Reading must use the index, never the RGB colour, and an RGB PNG is a
user error (it usually means the file was re-saved by an image editor), so :func:`read_label_png` refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from hodor.atomic import atomic_path
from hodor.errors import InputError


def davis_palette() -> np.ndarray:
    """The PASCAL-VOC / DAVIS colour map, [256, 3] uint8: index i's bits interleaved into R, G, B."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        c, r, g, b = index, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[index] = (r, g, b)
    return palette


def youtube_vos_palette() -> np.ndarray:
    """The YouTube-VOS colour map, [256, 3] uint8 (first 11 listed colours, then grey (i, i, i))."""
    head = [
        (0, 0, 0), (236, 95, 103), (249, 145, 87), (250, 200, 99), (153, 199, 148), (98, 179, 178),
        (102, 153, 204), (197, 148, 197), (171, 121, 103), (255, 255, 255), (101, 115, 126),
    ]  # fmt: skip
    palette = np.stack([np.arange(256, dtype=np.uint8)] * 3, axis=1)
    palette[: len(head)] = np.array(head, dtype=np.uint8)
    return palette


def write_label_png(path: str | Path, labels: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write an [H, W] uint8 id map as an indexed PNG, atomically (temp file + rename)."""
    if labels.ndim != 2:
        raise ValueError(f"label map must be [H, W], got shape {labels.shape}")
    if labels.dtype != np.uint8:
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise ValueError(f"label ids must lie in 0..255 for {path}")
        labels = labels.astype(np.uint8)
    image = Image.fromarray(labels, mode="P")
    image.putpalette((davis_palette() if palette is None else palette).reshape(-1).tolist())
    with atomic_path(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG")


def read_label_png(path: str | Path) -> np.ndarray:
    """Read an indexed PNG as its [H, W] uint8 index map; refuse RGB/other modes with a clear error."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode == "P":
                return np.array(image, dtype=np.uint8)
            if mode == "L":
                # Greyscale PNGs store ids directly; accepted because some tools write masks that way.
                return np.array(image, dtype=np.uint8)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as err:
        raise InputError(f"{path}: not a readable PNG ({err}); re-export it as an indexed PNG") from None
    raise InputError(
        f"{path}: mask PNG has mode {mode!r}, expected an indexed palette PNG (mode 'P') whose pixel index "
        "is the object id; convert it back with the dataset palette (e.g. PIL Image.quantize with the "
        "DAVIS palette) instead of saving colours"
    )
