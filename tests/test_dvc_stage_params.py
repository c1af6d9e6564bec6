"""dvc.yaml: each conversion and scoring stage tracks its own dataset root's params key, not the others'.

Moving one dataset (say data.coco_root to another disk) must rerun that dataset's stages only; a stage that
listed every root would rerun the DAVIS and YouTube-VOS conversions and scorings too.
"""

from __future__ import annotations

from pathlib import Path

ROOTS = {"coco": "data.coco_root", "davis": "data.davis_root", "youtube_vos": "data.youtube_vos_root"}


def _root_keys_by_stage(repo_root: Path) -> dict[str, set[str]]:
    from dvc.repo import Repo

    with Repo(str(repo_root)) as repo:
        return {
            stage.name: {key for dep in stage.params for key in dep.params if key in ROOTS.values()}
            for stage in repo.index.stages
            if stage.name.startswith(("convert@", "evaluate@"))
        }


def _dataset_kind(stage_name: str) -> str:
    item = stage_name.split("@", 1)[1]
    return next(kind for kind in ("coco", "davis", "youtube_vos") if kind in item)


def test_each_conversion_and_scoring_tracks_its_own_root_only(repo_root: Path) -> None:
    keys = _root_keys_by_stage(repo_root)
    assert sum(name.startswith("convert@") for name in keys) >= 5
    assert sum(name.startswith("evaluate@") for name in keys) >= 10
    for name, tracked in keys.items():
        assert tracked == {ROOTS[_dataset_kind(name)]}, f"{name} tracks {sorted(tracked)}"
