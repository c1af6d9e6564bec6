"""The fast label-PNG reader returns exactly PIL's index map, and PIL's errors, for every kind of PNG."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from hodor.data.palette import read_label_png, write_label_png
from hodor.errors import InputError
from hodor.evaluate.png import read_label_map


def _raw_png(path, pixels: np.ndarray, filters: list[int], colour: int = 3) -> None:
    """An 8-bit PNG whose scanlines use the given filter types (0 None, 1 Sub, 2 Up, 3 Average)."""
    h, w = pixels.shape
    lines = []
    for y in range(h):
        row = pixels[y].astype(np.int16)
        left = np.concatenate([[0], row[:-1]])
        up = pixels[y - 1].astype(np.int16) if y > 0 else np.zeros_like(row)
        if filters[y] == 1:
            row = row - left
        elif filters[y] == 2:
            row = row - up
        elif filters[y] == 3:
            row = row - (left + up) // 2
        lines.append(bytes([filters[y]]) + (row % 256).astype(np.uint8).tobytes())

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    palette = chunk(b"PLTE", bytes(range(256)) * 3) if colour == 3 else b""
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + palette
    compressed = zlib.compress(b"".join(lines))
    data += chunk(b"IDAT", compressed[:10]) + chunk(b"IDAT", compressed[10:]) + chunk(b"IEND", b"")
    path.write_bytes(data)


def test_pil_written_label_maps(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 7), (48, 64), (37, 91)]:
        labels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        write_label_png(tmp_path / "p.png", labels)
        Image.fromarray(labels, mode="L").save(tmp_path / "l.png")
        for name in ("p.png", "l.png"):
            got = read_label_map(tmp_path / name)
            assert got.dtype == np.uint8 and got.flags.writeable and got.flags.c_contiguous
            assert np.array_equal(got, labels) and np.array_equal(got, read_label_png(tmp_path / name))


@pytest.mark.parametrize("colour", [0, 3])
def test_sub_and_up_filters_are_undone(tmp_path, colour: int) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(9, 13), dtype=np.uint8)
    _raw_png(tmp_path / "f.png", pixels, [0, 1, 2, 2, 1, 0, 2, 1, 1], colour)
    assert np.array_equal(read_label_map(tmp_path / "f.png"), pixels)
    assert np.array_equal(read_label_png(tmp_path / "f.png"), pixels)


def test_opencv_written_and_average_filtered_pngs(tmp_path) -> None:
    rng = np.random.default_rng(2)
    labels = (rng.random((60, 80)) < 0.3).astype(np.uint8) * rng.integers(0, 9, size=(60, 80), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "cv.png"), labels)  # libpng's own filter choice (Sub rows here)
    assert np.array_equal(read_label_map(tmp_path / "cv.png"), labels)
    _raw_png(tmp_path / "avg.png", labels[:6], [0, 3, 1, 3, 2, 3])  # Average rows: decoded by PIL
    assert np.array_equal(read_label_map(tmp_path / "avg.png"), labels[:6])


def test_errors_are_pils(tmp_path) -> None:
    Image.new("RGB", (5, 4)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match="'RGB'"):
        read_label_map(tmp_path / "rgb.png")
    with pytest.raises(InputError, match="not found"):
        read_label_map(tmp_path / "missing.png")
    write_label_png(tmp_path / "cut.png", np.zeros((40, 40), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:-30])
    with pytest.raises(InputError):
        read_label_map(tmp_path / "cut.png")
    (tmp_path / "text.png").write_text("not a png")
    with pytest.raises(InputError, match="not a readable PNG"):
        read_label_map(tmp_path / "text.png")
