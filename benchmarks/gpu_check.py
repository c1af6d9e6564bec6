"""The GPU check of benchmarks/gpu_check.sh: one JSON with the paper model's speed and memory on one GPU.

    python benchmarks/gpu_check.py --out gpu_check.json          # on a GPU (gpu_check.sh allows 4 minutes)
    python benchmarks/gpu_check.py --dry --out /tmp/check.json   # CPU, tiny sizes: checks the script runs

Sections (each timed after a warm-up; a failing section records its error and the others still run):
``inference`` paper-model fps at 480p (480x854 frames, min image dim 480, window 7, objects 1, 2 in frame 0
and 3 in frame 2) in fp32 and bf16 autocast; ``train`` optimizer steps per second at the paper size
(480x640 images, the official 300,000-pixel budget rounded to x32), the paper batch (2 samples per forward x 4
accumulation = 8, 3 frames, 4 objects) under bf16 autocast; ``ddp`` one step of a 1-process
DistributedDataParallel (nccl; gloo in ``--dry``); ``peak_gpu_gib`` per section and overall.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import traceback
from pathlib import Path

import torch
from inference_fps import first_mask, late_mask, video
from train_step import make_batch

FULL = {"variant": "paper", "frames_hw": (480, 854), "min_dim": 480, "max_dim": 926, "infer_frames": 20,
        "train_hw": (480, 640), "batch": 2, "accumulation": 4, "objects": 4, "train_steps": 3,
        "ddp_hw": (192, 320)}  # fmt: skip
DRY = {"variant": "quick", "frames_hw": (96, 160), "min_dim": 96, "max_dim": 160, "infer_frames": 3,
       "train_hw": (64, 96), "batch": 1, "accumulation": 2, "objects": 2, "train_steps": 1,
       "ddp_hw": (64, 96)}  # fmt: skip


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def build(cfg: dict, device: torch.device) -> torch.nn.Module:
    from hodor.model import ModelParams, build_model

    torch.manual_seed(0)
    return build_model(ModelParams(variant=cfg["variant"])).to(device)


def inference(cfg: dict, device: torch.device) -> dict:
    """fps of the streaming segmenter in fp32 and bf16 (frames in memory, no PNG writing)."""
    from hodor.infer.segmenter import VideoSegmenter

    model = build(cfg, device).eval()
    hw, out = cfg["frames_hw"], {}

    def run(n: int, amp: torch.dtype | None) -> float:
        seg = VideoSegmenter(model, temporal_window=7, device=device, amp_dtype=amp,
                             min_image_dim=cfg["min_dim"], max_image_dim=cfg["max_dim"], backbone_batch_size=8)  # fmt: skip
        seg.reset("gpu_check")
        seg.add_mask(0, first_mask(hw))
        seg.add_mask(2, late_mask(hw))
        frames = list(video(n, hw))
        sync(device)
        start = time.perf_counter()
        for _ in seg.propagate(frames):
            pass
        sync(device)
        return time.perf_counter() - start

    for name, amp in (("fp32", None), ("bf16", torch.bfloat16)):
        reset_peak(device)
        run(3, amp)  # warm-up
        seconds = run(cfg["infer_frames"], amp)
        out[name] = {"fps": cfg["infer_frames"] / seconds, "frames": cfg["infer_frames"], "seconds": seconds,
                     "peak_gpu_gib": peak_gib(device)}  # fmt: skip
    return out


def train_steps(wrapper, optimizer, batch: dict, steps: int, accumulation: int, device) -> list[float]:
    """``steps`` optimizer steps under bf16 autocast; returns the time stamp after each."""
    stamps = []
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        for sub in range(accumulation):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = wrapper(batch, step * accumulation + sub)["loss"]
            (loss / accumulation).backward()
        optimizer.step()
        sync(device)
        stamps.append(time.perf_counter())
    return stamps


def training(cfg: dict, device: torch.device) -> dict:
    """Optimizer steps per second with the paper batch (accumulation) under bf16 autocast."""
    from hodor.train.cycles import TrainingModel
    from hodor.train.optim import build_optimizer
    from hodor.train.params import PAPER_STATIC

    reset_peak(device)
    model = build(cfg, device)
    wrapper = TrainingModel(model).train()
    optimizer, _ = build_optimizer(model, PAPER_STATIC)
    batch = make_batch(cfg["batch"], cfg["train_hw"], cfg["objects"])
    batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    stamps = train_steps(wrapper, optimizer, batch, 1 + cfg["train_steps"], cfg["accumulation"], device)
    step_s = (stamps[-1] - stamps[0]) / cfg["train_steps"]
    return {"it_per_s": 1 / step_s, "samples_per_s": cfg["batch"] * cfg["accumulation"] / step_s,
            "image_hw": list(cfg["train_hw"]), "global_batch": cfg["batch"] * cfg["accumulation"],
            "accumulation": cfg["accumulation"], "amp": "bf16", "peak_gpu_gib": peak_gib(device)}  # fmt: skip


def ddp_step(cfg: dict, device: torch.device) -> dict:
    """One optimizer step of a single-process DistributedDataParallel group (the multi-GPU code path)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from hodor.train.cycles import TrainingModel
    from hodor.train.optim import build_optimizer
    from hodor.train.params import PAPER_STATIC

    backend = "nccl" if device.type == "cuda" else "gloo"
    with tempfile.NamedTemporaryFile() as rendezvous:
        dist.init_process_group(backend, init_method=f"file://{rendezvous.name}", rank=0, world_size=1)
        try:
            model = build(cfg, device)
            ids = [device.index or 0] if device.type == "cuda" else None
            wrapper = DistributedDataParallel(
                TrainingModel(model), device_ids=ids, find_unused_parameters=True
            )
            optimizer, _ = build_optimizer(model, PAPER_STATIC)
            batch = make_batch(1, cfg["ddp_hw"], 2)
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            start = time.perf_counter()
            stamps = train_steps(wrapper, optimizer, batch, 2, 1, device)
        finally:
            dist.destroy_process_group()
    return {"backend": backend, "first_step_s": stamps[0] - start, "step_s": stamps[1] - stamps[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--dry", action="store_true", help="CPU, quick model, tiny sizes (tests the script)")
    parser.add_argument("--require-gpu", action="store_true", help="fail (not skip) without a CUDA device")
    args = parser.parse_args()
    if not args.dry and not torch.cuda.is_available():
        message = "gpu_check: no CUDA device; --dry runs the CPU check of this script"
        if args.require_gpu:
            raise SystemExit(message)
        print(message + " (skipped)")  # e.g. `make bench` on a CPU machine
        return
    device = torch.device("cpu") if args.dry else torch.device("cuda", 0)
    cfg = DRY if args.dry else FULL
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 here
    report: dict = {
        "dry": args.dry, "torch": torch.__version__, "python": platform.python_version(),
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "config": cfg,
    }  # fmt: skip
    start = time.perf_counter()
    for name, section in (("inference", inference), ("train", training), ("ddp", ddp_step)):
        t0 = time.perf_counter()
        try:
            report[name] = section(cfg, device)
        except Exception as err:  # record and go on: one JSON with whatever could be measured
            report[name] = {"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()[-2000:]}
        report[name]["section_s"] = time.perf_counter() - t0
        print(f"gpu_check {name}: {json.dumps(report[name])[:400]}", flush=True)
    peaks = [
        v.get("peak_gpu_gib")
        for v in (report["inference"].get("fp32", {}), report["inference"].get("bf16", {}), report["train"])
    ]
    report["peak_gpu_gib"] = max((p for p in peaks if p is not None), default=None)  # over the sections
    report["total_s"] = time.perf_counter() - start
    out = Path(args.out)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(out)  # atomic
    print(f"gpu_check: wrote {out} in {report['total_s']:.0f} s")


if __name__ == "__main__":
    main()
