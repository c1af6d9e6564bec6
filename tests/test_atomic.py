"""Atomic writes leave either the old content or the complete new one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hodor.atomic import atomic_directory, atomic_path, write_json, write_text
from hodor.data.palette import davis_palette, read_label_png, write_label_png, youtube_vos_palette
from hodor.errors import InputError


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{"a": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_outputs_get_the_usual_permissions(tmp_path: Path) -> None:
    write_text(tmp_path / "f.txt", "x")
    with atomic_directory(tmp_path / "d") as tmp:
        write_text(tmp / "g.txt", "y")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask


def test_atomic_directory_replaces_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    with atomic_directory(target) as tmp:
        write_text(tmp / "a.txt", "one")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        write_text(tmp / "b.txt", "two")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_palettes_match_published_colours() -> None:
    davis = davis_palette()
    assert davis[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    ytvos = youtube_vos_palette()
    assert ytvos[1].tolist() == [236, 95, 103] and ytvos[10].tolist() == [101, 115, 126]
    assert ytvos[42].tolist() == [42, 42, 42]


def test_label_png_round_trip_and_rgb_refused(tmp_path: Path) -> None:
    labels = np.random.default_rng(0).integers(0, 5, size=(7, 11), dtype=np.uint8)
    labels[0, 0] = 255
    write_label_png(tmp_path / "m.png", labels)
    assert np.array_equal(read_label_png(tmp_path / "m.png"), labels)
    from PIL import Image

    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match=r"rgb.png: mask PNG has mode 'RGB'"):
        read_label_png(tmp_path / "rgb.png")
