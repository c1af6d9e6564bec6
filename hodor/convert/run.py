"""The entry point of the raw-dataset converters: an official dataset name -> standardized JSON + image link.

Official names (hodor-data-format.md) and the raw folders they are made from (below a raw root such as
``data/synthetic``), with the image folder that ``workspace/dataset_images/<folder>`` links to:

* ``coco_2017_train``: ``coco/annotations/instances_train2017.json``; images ``coco/train2017``
* ``davis_train``, ``davis_val``: ``DAVIS/ImageSets/2017/<split>.txt``; images ``DAVIS/JPEGImages/480p``
* ``youtube_vos_2019_train``: ``youtube_vos/train/meta.json``; images ``youtube_vos/train/JPEGImages``
* ``youtube_vos_2019_val``: ``youtube_vos/valid/meta.json``; images ``youtube_vos/valid/JPEGImages``

Nothing is written until the whole split is converted and checked: then the images are linked and the
JSON is written atomically, so a failure never leaves a partial JSON behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hodor.atomic import write_json
from hodor.convert import coco, davis, youtube_vos
from hodor.convert.policy import DEFAULT_POLICY, ItemLog, Policy, report_path
from hodor.data.standard_json import gc_paused
from hodor.data.workspace import json_path, link_images
from hodor.errors import InputError

# name -> (reader kind, split, path of the split below the raw root)
DATASETS: dict[str, tuple[str, str, str]] = {
    "coco_2017_train": ("coco", "train2017", "coco"),
    "davis_train": ("davis", "train", "DAVIS"),
    "davis_val": ("davis", "val", "DAVIS"),
    "youtube_vos_2019_train": ("youtube_vos", "train", "youtube_vos"),
    "youtube_vos_2019_val": ("youtube_vos", "valid", "youtube_vos"),
    "davis_testdev": ("davis", "test-dev", "DAVIS"),  # server-scored; not in the default pipeline
}


@dataclass(frozen=True)
class ConvertSummary:
    name: str
    records: int  # sequences (video datasets) or images (COCO)
    frames: int  # frames (video) or images (COCO) processed
    objects: int  # object tracks (video) or object masks (COCO)
    seconds: float
    json_path: Path | None = None
    image_root: Path | None = None
    log: ItemLog = field(default_factory=ItemLog)
    report_path: Path | None = None

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        return (
            f"{self.name}: {self.records} records, {self.frames} frames, {self.objects} objects in "
            f"{self.seconds:.1f} s ({self.frames_per_s:.0f} frames/s)"
            + (f" -> {self.json_path}" if self.json_path else "")
            + f"; {self.log.line()}"
            + (f" (report: {self.report_path})" if self.report_path else "")
        )


def dataset_root(raw_root: Path, name: str) -> Path:
    """The raw dataset folder of an official name below a raw root (``data/synthetic`` -> ``data/synthetic/DAVIS``)."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    return Path(raw_root) / DATASETS[name][2]


def build(
    name: str,
    source: Path,
    *,
    workers: int = 2,
    progress: bool = True,
    policy: Policy = DEFAULT_POLICY,
    **options: Any,
):
    """Convert official dataset ``name`` from its raw folder ``source`` (e.g. ``data/synthetic/DAVIS``).

    -> (JSON document, image folder to link, ConvertSummary with the skip log). Writes nothing.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    kind, split, _ = DATASETS[name]
    start = time.perf_counter()
    common = {"workers": workers, "progress": progress, "strict": policy.strict}
    with gc_paused():  # the raw JSON, the tasks and the records: acyclic, and millions of objects
        if kind == "coco":
            doc, images, counts, log = coco.convert(source, **common, **options)
        elif kind == "davis":
            doc, images, counts, log = davis.convert(source, split, **common)
        else:
            doc, images, counts, log = youtube_vos.convert(source, split, **common, **options)
    summary = ConvertSummary(name, *counts, seconds=time.perf_counter() - start, log=log)
    return doc, images, summary


def _write(doc: dict[str, Any], summary: ConvertSummary, out: Path, policy: Policy) -> ConvertSummary:
    """Write ``F.report.json`` (always, so a failed run still says why), check the skipped share, then
    write the JSON ``out`` atomically."""
    report = report_path(out)
    write_json(report, summary.log.document(summary.name, policy), indent=1)
    summary.log.check(policy, report)
    write_json(out, doc)
    return replace(summary, json_path=Path(out), report_path=report)


def convert_to_workspace(
    name: str,
    source: Path,
    workspace: Path,
    *,
    workers: int = 2,
    progress: bool = True,
    policy: Policy = DEFAULT_POLICY,
    **options: Any,
) -> ConvertSummary:
    """Convert ``name`` from its raw folder ``source``: link its images into ``workspace``, then write
    ``workspace/dataset_json_annotations/<name>.json`` and its report (no JSON at all on a bad input)."""
    doc, images, summary = build(name, source, workers=workers, progress=progress, policy=policy, **options)
    root = link_images(Path(workspace), name, images, _image_paths(doc))
    return replace(_write(doc, summary, json_path(Path(workspace), name), policy), image_root=root)


def convert_to_file(
    name: str,
    source: Path,
    out: Path,
    *,
    workers: int = 2,
    progress: bool = True,
    policy: Policy = DEFAULT_POLICY,
    **options: Any,
) -> ConvertSummary:
    """Convert ``name`` from ``source`` into the JSON file ``out`` (+ ``out``'s report; no image link)."""
    doc, _, summary = build(name, source, workers=workers, progress=progress, policy=policy, **options)
    return _write(doc, summary, Path(out), policy)


def _image_paths(doc: dict[str, Any]) -> list[str]:
    if "images" in doc:
        return [r["image_path"] for r in doc["images"]]
    return [p for s in doc["sequences"] for p in s["image_paths"]]
