"""Prediction files in the layouts the official evaluation tools expect.

* DAVIS: ``<out>/<sequence>/<frame stem>.png``, indexed PNGs with the DAVIS palette, one per input frame.
* YouTube-VOS: ``<out>/Annotations/<video>/<frame stem>.png`` with the YouTube-VOS palette, and
  ``<out>/Annotations.zip`` (DEFLATE) holding ``Annotations/<video>/<name>.png`` for the frames the server
  scores (the sequence's ``eval_files``, ".jpg" -> ".png"), or every written frame when it has none.

Resuming: a sequence is finished when its done marker ``<out>/.hodor_done/<sequence>.json`` exists (written
after its last PNG) with the fingerprint of the current run (checkpoint + params); markers live outside the
PNG trees so that evaluation tools never see them.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hodor.atomic import atomic_path, write_json
from hodor.data.palette import davis_palette, write_label_png, youtube_vos_palette
from hodor.errors import InputError

DatasetKind = Literal["davis", "youtube_vos"]
DATASET_KINDS: tuple[str, ...] = ("davis", "youtube_vos")
DONE_DIR = ".hodor_done"
# Every Annotations.zip member gets this timestamp and mode (not the PNG's mtime), so the same predictions
# give a byte-identical zip whenever and by however many processes they were written.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o644


def dataset_kind(dataset_name: str) -> str:
    """``davis_*`` -> "davis", ``youtube_vos_*`` -> "youtube_vos" (the output layout)."""
    if dataset_name.startswith("davis"):
        return "davis"
    if dataset_name.startswith("youtube_vos"):
        return "youtube_vos"
    raise InputError(f"dataset {dataset_name!r}: expected a davis_* or youtube_vos_* dataset name")


def check_kind(kind: str) -> None:
    if kind not in DATASET_KINDS:
        raise InputError(f"dataset kind {kind!r} is unknown; valid: {', '.join(DATASET_KINDS)}")


def sequence_dir(out_dir: Path, kind: str, seq_id: str) -> Path:
    """Folder of one sequence's PNGs."""
    check_kind(kind)
    return Path(out_dir) / seq_id if kind == "davis" else Path(out_dir) / "Annotations" / seq_id


def write_frame(out_dir: Path, kind: str, seq_id: str, stem: str, labels: np.ndarray) -> Path:
    """Write one [H, W] uint8 label map atomically with the dataset's palette; returns the path."""
    path = sequence_dir(out_dir, kind, seq_id) / f"{stem}.png"
    write_label_png(path, labels, davis_palette() if kind == "davis" else youtube_vos_palette())
    return path


def clear_sequence(out_dir: Path, kind: str, seq_id: str) -> None:
    """Remove a sequence's PNGs and marker (before redoing it, so no stale frame survives)."""
    done_marker(out_dir, seq_id).unlink(missing_ok=True)
    shutil.rmtree(sequence_dir(out_dir, kind, seq_id), ignore_errors=True)


def done_marker(out_dir: Path, seq_id: str) -> Path:
    return Path(out_dir) / DONE_DIR / f"{seq_id}.json"


def read_done(out_dir: Path, seq_id: str, fingerprint: str) -> dict[str, Any] | None:
    """The marker record of a finished sequence made by the same run settings, else None."""
    path = done_marker(out_dir, seq_id)
    try:
        record = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("fingerprint") == fingerprint else None


def mark_done(out_dir: Path, seq_id: str, record: dict[str, Any]) -> None:
    write_json(done_marker(out_dir, seq_id), record, indent=1)


def zip_member_names(seq_id: str, stems: list[str], eval_files: list[str] | None) -> list[str]:
    """Names inside Annotations.zip for one video: its ``eval_files`` (as .png), else every frame."""
    names = [Path(f).stem for f in eval_files] if eval_files is not None else stems
    return [f"Annotations/{seq_id}/{name}.png" for name in names]


def write_youtube_vos_zip(out_dir: Path, members: list[str]) -> Path:
    """``<out>/Annotations.zip`` (DEFLATE) with the given ``Annotations/<video>/<name>.png`` members, in
    the given order, with fixed timestamps and modes (the same PNGs give the same zip bytes)."""
    out_dir = Path(out_dir)
    zip_path = out_dir / "Annotations.zip"
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in members:
            source = out_dir / name
            if not source.is_file():
                raise InputError(
                    f"{source}: listed in the sequence's eval_files but not predicted; every eval_files entry "
                    "must also be in image_paths"
                )
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode below means the same everywhere
            info.external_attr = (0o100000 | ZIP_MODE) << 16  # a regular file, rw-r--r--
            zf.writestr(info, source.read_bytes())
    return zip_path


def write_davis_zip(out_dir: Path, zip_name: str) -> Path:
    """``<out>/<zip_name>`` (DEFLATE) holding ``<sequence>/<frame>.png`` of every sequence folder in
    ``out_dir``: the upload of the DAVIS challenge server (sequence folders at the top of the archive).
    The done markers (``.hodor_done/``) and other files beside the folders stay out of it."""
    out_dir = Path(out_dir)
    members = sorted(
        png.relative_to(out_dir).as_posix()
        for png in out_dir.glob("*/*.png")
        if not png.parent.name.startswith(".")
    )
    if not members:
        raise InputError(f"{out_dir}: no sequence folder with PNGs to zip")
    zip_path = out_dir / zip_name
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in members:
            zf.write(out_dir / name, arcname=name)
    return zip_path
