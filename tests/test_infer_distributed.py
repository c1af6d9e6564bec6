"""Inference shared among processes: the plan (greedy longest-first by frame count), and 2 CPU processes
under torchrun (the infer stage with ``infer.nproc_per_node: 2``) against one process, on a tiny
YouTube-VOS-layout workspace made here: byte-identical PNGs and ``Annotations.zip``, one summary, and a
2-process output that a 1-process run finds finished."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import torch
import yaml
from test_infer_dataset import box, make_frames, save_checkpoint

from hodor.cli import main
from hodor.config import to_dict
from hodor.data.standard_json import encode_mask
from hodor.infer.dataset import share_sequences
from hodor.model import ModelParams, build_model

REPO = Path(__file__).resolve().parents[1]
LENGTHS = {"long": 6, "short": 2, "mid": 4, "mid2": 3}  # frames per sequence (dataset order)


def test_share_sequences_longest_first_to_the_least_loaded_rank() -> None:
    # 9 -> r0, 7 -> r1, 5 -> r1 (7 < 9), 3 -> r0 (9 < 12), 2 -> r0 (12 = 12: lowest rank)
    assert share_sequences([5, 9, 3, 7, 2], 2) == [[1, 2, 4], [0, 3]]
    assert share_sequences([5, 9, 3], 1) == [[0, 1, 2]]
    assert share_sequences([4], 3) == [[0], [], []]  # more ranks than sequences: some have nothing
    plan = share_sequences([8, 1, 1, 1, 1, 1, 1, 1, 1], 2)
    assert [sum([8, 1, 1, 1, 1, 1, 1, 1, 1][i] for i in share) for share in plan] == [8, 8]
    with pytest.raises(ValueError, match="world_size"):
        share_sequences([1], 0)


def _workspace(root: Path) -> tuple[Path, Path]:
    """A youtube_vos_2019_val workspace of four sequences of 2-6 frames and a random tiny checkpoint."""
    ws = root / "workspace"
    records = []
    for n, (seq, length) in enumerate(LENGTHS.items()):
        make_frames(ws / "dataset_images/youtube_vos_2019_val" / seq, length, seed=n)
        refs = {"0": {"1": encode_mask(box(10, 40, 10 + n, 40 + n))["seg"]}}
        if length > 3:  # a second object from frame 2
            refs["2"] = {"2": encode_mask(box(45, 62, 60, 92))["seg"]}
        records.append({"id": seq, "image_paths": [f"{seq}/{5 * t:05d}.jpg" for t in range(length)],
                        "segmentations": refs})  # fmt: skip
    records[0]["eval_files"] = ["00000.jpg", "00015.jpg"]
    (ws / "dataset_json_annotations").mkdir(parents=True)
    (ws / "dataset_json_annotations/youtube_vos_2019_val.json").write_text(json.dumps({"sequences": records}))
    torch.manual_seed(0)
    model = ModelParams(variant="quick", backbone="lcnet_035")
    checkpoint = save_checkpoint(root / "final.pth", build_model(model), model)
    return ws, checkpoint


def _params(path: Path, nproc: int) -> Path:
    model = to_dict(ModelParams(variant="quick", backbone="lcnet_035"))
    infer = {"max_dim_ratio": 2.0, "backbone_batch_size": 4, "amp": "none", "nproc_per_node": nproc}
    path.write_text(
        yaml.safe_dump({"temporal_window": 2, "min_image_dim": 64, "model": model, "infer": infer})
    )
    return path


def _files(out: Path) -> dict[str, bytes]:
    """Every prediction file (PNGs, Annotations.zip): not the summary and markers, which hold timings."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "inference_summary.json" and ".hodor_done" not in p.parts
    }


@pytest.mark.slow  # three Python processes start torch (torchrun and two ranks): ~30 s of CPU
def test_two_processes_write_the_same_files_as_one(tmp_path: Path, capfd, monkeypatch) -> None:
    ws, checkpoint = _workspace(tmp_path)
    common = ["--checkpoint", str(checkpoint), "--dataset", "youtube_vos_2019_val", "--workspace", str(ws)]
    one, two = tmp_path / "one", tmp_path / "two"
    # Two processes: the stage reads infer.nproc_per_node and starts itself under torchrun (the ranks import
    # this checkout's hodor and run one thread each).
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    stage = runpy.run_path(str(REPO / "stages/infer.py"))["main"]
    assert stage(["--params", str(_params(tmp_path / "p2.yaml", 2)), *common, "--out", str(two)]) == 0
    out = capfd.readouterr().out
    assert "4 sequences (0 already done), 15 frames" in out and "2 ranks" in out, out
    assert out.count("infer youtube_vos_2019_val") == 1, "one summary line, from rank 0"
    # one process, one thread (this pytest process: tests/conftest.py)
    assert main(["infer", *common, "--out", str(one), "--params", str(_params(tmp_path / "p1.yaml", 1))]) == 0

    files = _files(one)
    assert "Annotations.zip" in files and sum(name.endswith(".png") for name in files) == 15
    assert _files(two) == files  # byte for byte, Annotations.zip included
    ranks = {seq: json.loads((two / ".hodor_done" / f"{seq}.json").read_text())["rank"] for seq in LENGTHS}
    assert ranks == {"long": 0, "short": 0, "mid": 1, "mid2": 1}  # 6+2 frames vs 4+3: the plan's shares
    summary = json.loads((two / "inference_summary.json").read_text())
    assert summary["ranks"] == 2 and summary["frames"] == 15 and summary["sequences"] == 4
    assert summary["total_fps"] > summary["fps"] > 0  # two processes' frames in the busier one's seconds
    # The 2-process output is finished for a 1-process run of the same settings (resume across N).
    capfd.readouterr()
    assert main(["infer", *common, "--out", str(two), "--params", str(tmp_path / "p1.yaml")]) == 0
    assert "4 sequences (4 already done)" in capfd.readouterr().out
    assert _files(two) == files
