"""Use files from the official HODOR workspace zip instead of building them here.

The authors publish a zipped ``HODOR_WORKSPACE_DIR`` with the standardized JSONs of every dataset and the
checkpoints of the three training regimes. Params section ``official`` names those files; the ``convert``
stage then validates and places the official JSON instead of converting the raw annotations (the images
are still linked from the raw dataset roots), and the training stages validate and place the official
checkpoint as ``final.pth`` instead of training. Later stages cannot tell the difference.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hodor.atomic import atomic_path, write_json
from hodor.convert.run import DATASETS
from hodor.data.standard_json import load_image_dataset, load_video_dataset
from hodor.data.workspace import json_path, link_images
from hodor.errors import InputError

# Where each official dataset's frames sit inside its raw root (COCO, DAVIS 2017, YouTube-VOS 2019).
RAW_IMAGE_DIRS: dict[tuple[str, str], str] = {
    ("coco", "train"): "train2017",
    ("davis", "train"): "JPEGImages/480p",
    ("davis", "val"): "JPEGImages/480p",
    ("davis", "test-dev"): "JPEGImages/480p",
    ("youtube_vos", "train"): "train/JPEGImages",
    ("youtube_vos", "valid"): "valid/JPEGImages",
}


@dataclass(frozen=True)
class OfficialParams:
    """Section ``official``: paths into an unpacked official workspace zip, or null to build here.

    ``json_dir``: its ``dataset_json_annotations`` folder. ``static_image`` / ``video_sparse`` /
    ``video_dense``: checkpoint files (e.g. ``checkpoints/static_image/250000.pth``).
    """

    json_dir: str | None
    static_image: str | None
    video_sparse: str | None
    video_dense: str | None

    def checkpoint_for(self, regime_dir: str) -> Path | None:
        value = getattr(self, regime_dir)
        return None if value is None else Path(value)


def _copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def import_json(name: str, json_dir: Path, raw_root: Path, workspace: Path) -> Path:
    """Validate the official ``<json_dir>/<name>.json`` against the raw images and place it in ``workspace``.

    The JSON is loaded with our loader (every field checked; paths that leave the image folder refused
    before any file is read), every image it names is checked to exist below the raw image folder
    (through links), and only then is that folder linked to ``workspace/dataset_images/<folder>`` and the
    JSON placed, as for converted data.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    src = Path(json_dir) / f"{name}.json"
    if not src.is_file():
        raise InputError(
            f"{src}: not found; official.json_dir must be the dataset_json_annotations folder of the "
            "official workspace zip (or null to convert the raw annotations here)"
        )
    kind, split, _ = DATASETS[name]
    images = Path(raw_root) / RAW_IMAGE_DIRS[(kind, split)]
    loader = load_image_dataset if kind == "coco" else load_video_dataset
    dataset = loader(src, images)
    paths = (
        [r.image_path for r in dataset.images]
        if kind == "coco"
        else [p for s in dataset.sequences for p in s.image_paths]
    )
    check_images_exist(images, paths, src)
    link_images(Path(workspace), name, images, paths)
    out = json_path(Path(workspace), name)
    _copy(src, out)
    return out


def check_images_exist(images: Path, paths: list[str], source: Path) -> None:
    """Every image the JSON names must be a readable file below ``images``, following links (a linked
    dataset root, linked files): checked before anything is placed, so inference never fails late."""
    if not images.is_dir():
        raise InputError(
            f"{source}: its images belong in {images}, which does not exist (or is a broken link); point "
            "the data.*_root key at the raw dataset that matches the official JSON"
        )
    missing = [p for p in dict.fromkeys(paths) if not (images / p).is_file()]
    if missing:
        raise InputError(
            f"{source}: {len(missing)} of the {len(set(paths))} images it names are missing under {images} "
            f"(e.g. {missing[0]}); use the image release the official JSON was made from"
        )


def import_checkpoint(src: Path, out_dir: Path, model) -> Path:  # noqa: ANN001 - an nn.Module
    """Check that checkpoint ``src`` loads into ``model`` (strict, every shape), then place it as
    ``out_dir/final.pth`` (the file later stages read)."""
    from hodor.model.checkpoint import load_model_weights

    src = Path(src)
    load_model_weights(model, src)
    out = Path(out_dir) / "final.pth"
    _copy(src, out)
    write_json(Path(out_dir) / "imported_from.json", {"source": str(src)})
    return out


def write_imported_metrics(live_dir: Path, source: Path) -> None:
    """The metrics a training stage declares, for a checkpoint that was imported instead of trained:
    the source in ``metrics.json`` and an empty loss curve (header only) where dvclive would write it."""
    live_dir = Path(live_dir)
    write_json(live_dir / "metrics.json", {"imported_from": str(source)}, indent=2)
    from hodor.atomic import write_text

    write_text(live_dir / "plots" / "metrics" / "train" / "loss.tsv", "step\tloss\n")
