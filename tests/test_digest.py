"""hodor.data.digest and stages/digest.py: a folder's digest changes with any file's content, name or
presence, not with the folder's location; a missing folder is a clear error; dvc.yaml walks each shared
raw folder once (only the digest stage lists it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from hodor.data.digest import tree_digest
from hodor.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> Path:
    (root / "bear").mkdir(parents=True)
    (root / "car").mkdir()
    (root / "bear" / "00000.jpg").write_bytes(b"\xff\xd8 first frame \xff\xd9")
    (root / "bear" / "00001.jpg").write_bytes(b"\xff\xd8 second frame \xff\xd9")
    (root / "car" / "00000.jpg").write_bytes(bytes(range(256)) * 5000)  # > one read block
    return root


def test_digest_follows_content_names_and_presence(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a")
    base = tree_digest(root)
    assert (base.files, base.bytes) == (3, sum(f.stat().st_size for f in root.rglob("*.jpg")))
    assert tree_digest(shutil.copytree(root, tmp_path / "b")) == base  # location does not matter

    frame = root / "bear" / "00001.jpg"
    original = frame.read_bytes()
    frame.write_bytes(original.replace(b"second", b"SECOND"))  # same size, other bytes
    assert tree_digest(root).md5 != base.md5
    frame.write_bytes(original)
    assert tree_digest(root) == base

    frame.rename(root / "bear" / "00002.jpg")
    assert tree_digest(root).md5 != base.md5
    (root / "bear" / "00002.jpg").rename(frame)
    (root / "car" / "empty.txt").write_bytes(b"")
    assert tree_digest(root).files == 4 and tree_digest(root).md5 != base.md5


def test_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"JPEGImages/480p: folder not found; check the data roots"):
        tree_digest(tmp_path / "DAVIS" / "JPEGImages" / "480p")


def test_stage_writes_the_digest_and_refuses_a_missing_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path / "frames")
    out = tmp_path / "workspace" / "digests" / "frames.json"
    cmd = [sys.executable, str(REPO / "stages" / "digest.py"), "--tree", str(root), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert json.loads(out.read_text()) == {
        "files": 3,
        "bytes": tree_digest(root).bytes,
        "md5": tree_digest(root).md5,
    }
    assert done.stdout.startswith(f"digest {root}: 3 files, ")
    cmd[cmd.index("--tree") + 1] = str(tmp_path / "gone")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 2 and "digest: error: " in bad.stderr and "gone: folder not found" in bad.stderr


def test_each_shared_raw_folder_is_one_dependency() -> None:
    """DVC checks a folder dependency file by file for every stage listing it: in dvc.yaml no raw folder
    (a path with a root parameter and no file extension) is listed by two stages."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    listed: Counter[str] = Counter()
    for stage in stages.values():
        body = stage.get("do", stage)
        items = stage.get("foreach") if isinstance(stage.get("foreach"), dict) else {"": {}}
        for item in items.values():
            for dep in body.get("deps", []):
                path = dep
                if isinstance(item, dict):
                    for key, value in item.items():
                        path = path.replace(f"${{item.{key}}}", str(value))
                elif isinstance(item, str):
                    path = path.replace("${item}", item)
                listed[path] += 1
    folders = {p: n for p, n in listed.items() if "_root}" in p and not Path(p).suffix}
    assert folders and max(folders.values()) == 1, {p: n for p, n in folders.items() if n > 1}
