"""The record builders every video converter shares: object masks -> training-shape tracks, and the union
record (training + inference shape) of hodor-data-format.md §7."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hodor.data.standard_json import encode_mask


def encode_objects(labels: np.ndarray, ids: Sequence[int]) -> dict[str, dict[str, Any]]:
    """uint8 [H, W] id map -> {"<id>": {"box", "seg", "area"}} for the given ids (training-shape tracks)."""
    return {str(obj): encode_mask(labels == obj) for obj in ids}


def video_record(
    seq_id: str,
    *,
    height: int,
    width: int,
    image_paths: list[str],
    categories: dict[int, int],
    tracks: list[dict[str, dict[str, Any]]],
    references: dict[int, list[int]],
    eval_files: list[str] | None = None,
) -> dict[str, Any]:
    """The union record (training + inference shape). ``references``: frame -> ids whose reference mask
    (``segmentations``) is taken from that frame's track."""
    segmentations = {
        str(t): {str(obj): tracks[t][str(obj)]["seg"] for obj in sorted(ids)}
        for t, ids in sorted(references.items())
    }
    record: dict[str, Any] = {
        "id": seq_id,
        "height": height,
        "width": width,
        "image_paths": image_paths,
        "categories": {str(k): v for k, v in sorted(categories.items())},
        "tracks": tracks,
        "segmentations": segmentations,
    }
    if eval_files is not None:
        record["eval_files"] = eval_files
    return record
