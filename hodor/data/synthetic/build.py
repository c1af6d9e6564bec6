"""``synthesize``: the whole synthetic raw workspace (COCO, DAVIS 2017, YouTube-VOS 2019), atomically.

The tree is built in a temporary sibling directory and renamed into place only when complete; the marker
``.hodor_synthetic.json`` is its last file. A directory without the marker is therefore never a (complete)
synthetic output: we refuse to overwrite it unless it is empty, and an interrupted run leaves the previous
output (or nothing) in place.

Randomness: every image / clip draws from its own generator seeded by ``(seed, domain, index)``, so a run
is reproducible file for file and one dataset's size does not shift another's content.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hodor.atomic import atomic_directory, write_json
from hodor.data.synthetic import coco, video
from hodor.data.synthetic.assets import UNSEEN_CATEGORIES, Cutout, categories, cutouts
from hodor.data.synthetic.quirks import add_quirks
from hodor.data.synthetic.scales import SCALES, ScaleSpec
from hodor.data.synthetic.scenes import Clip, make_clip
from hodor.errors import InputError

MARKER = ".hodor_synthetic.json"
DATASET_FOLDERS = ("coco", "DAVIS", "youtube_vos")  # what a synthetic output holds besides its marker
FORMAT = "hodor-synthetic-raw"
VERSION = 2  # 2: video dynamics (motion.py), short many validation clips
_COCO, _DAVIS_TRAIN, _DAVIS_VAL, _YTVOS_TRAIN, _YTVOS_VALID, _DAVIS_TESTDEV = range(6)  # rng domains


@dataclass(frozen=True)
class SynthesisSummary:
    out: Path
    seed: int
    scale: str
    counts: dict[str, int]
    seconds: float

    def line(self) -> str:
        c = self.counts
        return (
            f"synthesized {self.out} (scale={self.scale}, seed={self.seed}) in {self.seconds:.1f} s: "
            f"COCO {c['coco_images']} images / {c['coco_annotations']} annotations, "
            f"DAVIS {c['davis_train']}+{c['davis_val']} sequences / {c['davis_frames']} frames, "
            f"YouTube-VOS {c['youtube_vos_train']}+{c['youtube_vos_valid']} videos / {c['youtube_vos_frames']} frames"
        )


def rng_for(seed: int, domain: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, domain, index])


def is_synthetic_output(path: Path) -> bool:
    """True when ``path`` holds a complete synthetic workspace (its marker parses and says so)."""
    try:
        return json.loads((path / MARKER).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def foreign_files(out: Path) -> list[str]:
    """Files under a previous synthetic output that its marker does not list as created by this generator
    (relative paths, sorted). Markers from before the ``files`` list: everything below the three dataset
    folders counts as created."""
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return []
    created = set(marker.get("files", ()))
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.is_dir() or p.is_symlink())
    if "files" not in marker:
        return [f for f in found if f != MARKER and f.split("/")[0] not in DATASET_FOLDERS]
    return [f for f in found if f != MARKER and f not in created]


def _created(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def check_target(out: Path) -> None:
    """Refuse to replace anything that this command did not create: ``out`` must be new, empty, or a
    previous synthetic output holding nothing but what its marker lists (a folder a user copied into it,
    e.g. a real dataset, makes the whole replacement refused)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory; choose another --out or remove the file")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not is_synthetic_output(out):
        raise InputError(
            f"{out}: directory is not empty and has no {MARKER} marker, so it is not a previous synthetic "
            "output and would be overwritten; choose an empty or new --out directory (or delete this one)"
        )
    foreign = foreign_files(out)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise InputError(
            f"{out}: holds {', '.join(foreign[:3])}{more}, which the synthetic generator did not create; "
            f"replacing {out} would delete it. Move it out (real datasets belong outside {out}, e.g. "
            "datasets/) and rerun"
        )


def coco_samples(seed: int, spec: ScaleSpec, progress: bool = False) -> Iterator[tuple[int, coco.CocoSample]]:
    """(image id, sample) for every synthetic COCO image; samples keep the painted masks (tests use them)."""
    yield from enumerate(coco.real_scene_samples(), start=1)  # ids 1, 2; pasted images have ids 9 + 13 i
    pool = list(cutouts())
    for i in tqdm(range(spec.coco_images), desc="COCO", disable=not progress, leave=False):
        rng = rng_for(seed, _COCO, i)
        sample = coco.make_sample(rng, pool, coco.image_size(rng), with_crowd=i % 5 == 2)
        yield 9 + 13 * i, sample  # COCO ids are sparse; do not let readers assume positions


def remove_stale_builds(out: Path) -> list[Path]:
    """Delete temporary siblings a killed run left behind (``.<name>.*.tmp``, the atomic-directory names).

    They are never read by any stage; removing them only reclaims disk space.
    """
    stale = [p for p in out.parent.glob(f".{out.name}.*.tmp") if p.is_dir() and not p.is_symlink()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _coco(root: Path, seed: int, spec: ScaleSpec, progress: bool) -> dict[str, int]:
    names = list(categories())
    ids = coco.category_ids(names)
    images, annotations = [], []
    for image_id, sample in coco_samples(seed, spec, progress):
        file_name = f"{image_id:012d}.jpg"
        video.write_jpeg(root / "train2017" / file_name, sample.image)
        images.append(coco.image_entry(sample, file_name, image_id))
        for obj in sample.objects:
            annotations.append(coco.annotation(obj, 900000 + len(annotations), image_id, ids[obj.category]))
    write_json(
        root / "annotations" / "instances_train2017.json", coco.coco_document(images, annotations, names)
    )
    return {"coco_images": len(images), "coco_annotations": len(annotations)}


def _clip(
    seed: int,
    domain: int,
    index: int,
    spec: ScaleSpec,
    pool: list[Cutout],
    *,
    davis: bool,
    min_objects: int = 1,
    late: int = 0,
    first_pool: list[Cutout] | None = None,
) -> Clip:
    """Clip ``index`` of a split: ``late`` objects enter after frame 0, label 1 comes from ``first_pool``."""
    val = domain in (_DAVIS_VAL, _YTVOS_VALID)
    if davis:
        hw, lengths = spec.davis_hw, spec.davis_val_frames if val else spec.davis_frames
    else:
        hw, lengths = spec.youtube_vos_hw, spec.youtube_vos_valid_frames if val else spec.youtube_vos_frames
    rng = rng_for(seed, domain, index)
    frames = int(rng.integers(lengths[0], lengths[1] + 1))
    objects = max(int(rng.integers(1, spec.max_objects + 1)), min_objects)
    return make_clip(
        rng, pool, hw=hw, num_frames=frames, num_objects=objects, num_late=min(late, objects - 1),
        num_distractors=int(rng.integers(0, 3)), first_pool=first_pool,
    )  # fmt: skip


def _davis(root: Path, seed: int, spec: ScaleSpec, progress: bool) -> dict[str, int]:
    """Clips are written as soon as they are rendered: memory stays at one clip whatever the scale."""
    pool = list(cutouts())
    splits: dict[str, list[str]] = {"train": [], "val": []}
    frames = 0
    jobs = [("train", _DAVIS_TRAIN, i) for i in range(spec.davis_train)]
    jobs += [("val", _DAVIS_VAL, i) for i in range(spec.davis_val)]
    for number, (split, domain, i) in enumerate(tqdm(jobs, desc="DAVIS", disable=not progress, leave=False)):
        clip = _clip(seed, domain, i, spec, pool, davis=True)
        name = video.davis_name(clip, number)
        video.write_davis_sequence(root, name, clip)
        splits[split].append(name)
        frames += len(clip.frames)
    video.write_davis_imagesets(root, splits)
    return {"davis_train": len(splits["train"]), "davis_val": len(splits["val"]), "davis_frames": frames}


def _davis_testdev(root: Path, seed: int, spec: ScaleSpec) -> dict[str, int]:
    """DAVIS 2017 test-dev as released: every frame, a PNG for frame 0 only, ``ImageSets/2017/test-dev.txt``
    (as many sequences as val, numbered after the trainval ones so the names never clash)."""
    pool = list(cutouts())
    names = []
    for i in range(spec.davis_val):
        clip = _clip(seed, _DAVIS_TESTDEV, i, spec, pool, davis=True)
        name = video.davis_name(clip, spec.davis_train + spec.davis_val + i)
        video.write_davis_sequence(root, name, clip, annotated_frames=1)
        names.append(name)
    video.write_davis_imagesets(root, {"test-dev": names})
    return {"davis_testdev": len(names)}


def _youtube_vos(root: Path, seed: int, spec: ScaleSpec, progress: bool) -> dict[str, int]:
    pool = list(cutouts())
    seen = [c for c in pool if c.category not in UNSEEN_CATEGORIES]
    unseen = [c for c in pool if c.category in UNSEEN_CATEGORIES]
    train, valid, valid_gt, frames = {}, {}, {}, 0
    for i in tqdm(range(spec.youtube_vos_train), desc="YouTube-VOS train", disable=not progress, leave=False):
        clip = _clip(seed, _YTVOS_TRAIN, i, spec, seen, davis=False, late=int(i % 3 == 1))
        vid = video.youtube_vos_id(seed, "train", i)
        train[vid] = video.write_youtube_vos_train_video(root / "train", vid, clip)
        frames += len(clip.frames)
    # Valid: every other video has an unseen-category object, two of three have a late-appearing object.
    for i in tqdm(range(spec.youtube_vos_valid), desc="YouTube-VOS valid", disable=not progress, leave=False):
        clip = _clip(
            seed, _YTVOS_VALID, i, spec, pool, davis=False, min_objects=2,
            late=int(i % 3 != 2), first_pool=unseen if i % 2 == 0 else None,
        )  # fmt: skip
        vid = video.youtube_vos_id(seed, "valid", i)
        valid[vid], valid_gt[vid] = video.write_youtube_vos_valid_video(
            root / "valid", root / "valid_gt", vid, clip
        )
        frames += len(clip.frames)
    for split, videos in (("train", train), ("valid", valid), ("valid_gt", valid_gt)):
        video.write_meta(root / split, videos)
    return {"youtube_vos_train": len(train), "youtube_vos_valid": len(valid), "youtube_vos_frames": frames}


def synthesize(
    out: Path,
    *,
    seed: int = 0,
    scale: str = "default",
    progress: bool = False,
    quirks: bool = False,
    testdev: bool = False,
) -> SynthesisSummary:
    """Write the synthetic raw workspace under ``out`` (replacing a previous synthetic output).

    ``quirks``: also add one item per real-dataset quirk (hodor.data.synthetic.quirks), listed in the
    marker under ``quirks``. ``testdev``: also a DAVIS 2017 test-dev split (first-frame masks only)."""
    if scale not in SCALES:
        raise InputError(f"unknown synthetic scale {scale!r}; choose one of {', '.join(SCALES)}")
    out = Path(out)
    check_target(out)
    remove_stale_builds(out)
    spec = SCALES[scale]
    start = time.perf_counter()
    with atomic_directory(out) as tmp:
        counts = _coco(tmp / "coco", seed, spec, progress)
        counts |= _davis(tmp / "DAVIS", seed, spec, progress)
        counts |= _youtube_vos(tmp / "youtube_vos", seed, spec, progress)
        if testdev:
            counts |= _davis_testdev(tmp / "DAVIS", seed, spec)
        marker = {"format": FORMAT, "version": VERSION, "seed": seed, "scale": scale, "counts": counts}
        marker["scale_spec"] = asdict(spec)
        if quirks:
            marker["quirks"] = add_quirks(tmp)
        marker["files"] = _created(tmp)  # what a later run may replace: nothing else
        write_json(tmp / MARKER, marker, indent=2)  # last: its presence means "complete"
    return SynthesisSummary(out, seed, scale, counts, time.perf_counter() - start)
