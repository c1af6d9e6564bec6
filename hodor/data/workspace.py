"""The official ``HODOR_WORKSPACE_DIR`` layout, and linking raw image folders into it.

``workspace/dataset_images/<folder>`` is a **relative symbolic link** to the raw image folder (e.g.
``../../data/synthetic/DAVIS/JPEGImages/480p``), never a copy: COCO alone is 18 GB. Relative, so the repository
(workspace and raw data together) can be moved or cloned elsewhere without breaking the links. The image
paths inside the JSONs (``bear/00000.jpg``) are relative to that folder, exactly as in the official
workspace, so an official workspace with real folders there works unchanged.

Linking is idempotent: a link that already points at the right folder is left alone, a link pointing
elsewhere is replaced atomically, and a real directory (e.g. from the official workspace zip) is kept when
it holds every image the JSON lists, else refused with an error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hodor.errors import InputError

# dataset name -> folder under workspace/dataset_images (DAVIS train and val share their images)
IMAGE_FOLDERS: dict[str, str] = {
    "coco_2017_train": "coco_2017_train",
    "davis_train": "davis_trainval",
    "davis_val": "davis_trainval",
    "davis_testdev": "davis_testdev",
    "youtube_vos_2019_train": "youtube_vos_2019_train",
    "youtube_vos_2019_val": "youtube_vos_2019_val",
}


def _folder(dataset_name: str) -> str:
    if dataset_name not in IMAGE_FOLDERS:
        raise InputError(f"unknown dataset name {dataset_name!r}; known: {', '.join(IMAGE_FOLDERS)}")
    return IMAGE_FOLDERS[dataset_name]


def image_root(workspace: Path, dataset_name: str) -> Path:
    """``workspace/dataset_images/<folder>`` for an official dataset name (davis_val -> davis_trainval)."""
    return Path(workspace) / "dataset_images" / _folder(dataset_name)


def json_path(workspace: Path, dataset_name: str) -> Path:
    """``workspace/dataset_json_annotations/<name>.json``."""
    _folder(dataset_name)
    return Path(workspace) / "dataset_json_annotations" / f"{dataset_name}.json"


def link_images(workspace: Path, dataset_name: str, source: Path, image_paths: Sequence[str] = ()) -> Path:
    """Make ``image_root(workspace, dataset_name)`` a relative symlink to ``source``; return the root.

    ``image_paths`` (relative to the root) are checked when the root is a real directory that is kept.
    """
    link = image_root(workspace, dataset_name)
    source = Path(os.path.abspath(source))
    if not source.is_dir():
        raise InputError(f"image folder {source} does not exist; check the raw dataset root")
    link.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(source, link.parent)
    if link.is_symlink():
        if os.readlink(link) == target:
            return link
    elif link.exists():
        missing = [p for p in image_paths if not (link / p).is_file()]
        if missing:
            raise InputError(
                f"{link} is a real folder (not a link made by `hodor convert`) and lacks {len(missing)} of "
                f"the dataset's images (e.g. {missing[0]}); move it away so the converter can link "
                f"{source} there"
            )
        return link
    tmp = link.with_name(f".{link.name}.{os.getpid()}.link.tmp")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target, tmp, target_is_directory=True)
    os.replace(tmp, link)  # atomic: readers see the old link or the new one
    return link
