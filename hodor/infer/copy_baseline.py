"""The trivial baseline: every object's given mask copied unchanged to every later frame.

Whatever a trained model scores above this is what it learned about motion and appearance; a model that
scores below it does worse than not tracking at all. The predictions use the layout of the inference
stage (:mod:`hodor.infer.writers`: DAVIS PNGs, YouTube-VOS ``Annotations/`` + ``Annotations.zip``), so the
same scoring runs on them. No frame is read: only the reference masks of the dataset JSON.

Rule per frame ``t``: start from the labels of frame ``t - 1`` (all background before the first
reference); each reference mask given at ``t`` first clears its object's old pixels, then is painted in the
order the JSON lists them, so a later object covers an earlier one where masks overlap (as the network's
reference masks do in inference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hodor.atomic import atomic_directory, write_json
from hodor.data.standard_json import VideoDataset, VideoSequence
from hodor.errors import InputError
from hodor.infer import writers

METHOD = "copy each object's given mask to every later frame"


@dataclass(frozen=True)
class CopySummary:
    frames: int
    sequences: int


def copied_labels(seq: VideoSequence) -> list[np.ndarray]:
    """[H, W] uint8 label maps, one per frame of ``seq``, by the rule of the module docstring."""
    if not seq.reference_masks or not any(seq.reference_masks.values()):
        raise InputError(f"sequence {seq.id!r}: no reference mask in any frame; nothing to copy")
    labels = np.zeros((seq.height, seq.width), dtype=np.uint8)
    out = []
    for t in range(len(seq)):
        for obj_id, counts in seq.reference_masks.get(t, {}).items():
            labels[labels == obj_id] = 0
            labels[seq.decode(counts) > 0] = obj_id
        out.append(labels.copy())
    return out


def copy_dataset(dataset: VideoDataset, out_dir: Path, kind: str, *, progress: bool = True) -> CopySummary:
    """Write the baseline's predictions for every sequence of ``dataset`` into ``out_dir`` (replaced as a
    whole, atomically) with a ``inference_summary.json`` that names the method (and has no fps)."""
    writers.check_kind(kind)
    frames = 0
    with atomic_directory(out_dir) as tmp:
        for seq in tqdm(dataset.sequences, unit="video", disable=not progress, desc="copy first mask"):
            for t, labels in enumerate(copied_labels(seq)):
                writers.write_frame(tmp, kind, seq.id, Path(seq.image_paths[t]).stem, labels)
            frames += len(seq)
        if kind == "youtube_vos":
            members = [
                name
                for seq in dataset.sequences
                for name in writers.zip_member_names(
                    seq.id, [Path(p).stem for p in seq.image_paths], seq.eval_files
                )
            ]
            writers.write_youtube_vos_zip(tmp, members)
        summary = CopySummary(frames, len(dataset.sequences))
        write_json(
            tmp / "inference_summary.json",
            {"method": METHOD, "dataset": dataset.name, "frames": frames, "sequences": summary.sequences},
            indent=1,
        )
    return summary
