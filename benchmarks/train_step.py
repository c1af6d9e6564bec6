"""Training speed and peak memory: optimizer steps per second for the quick and the paper profile.

    python benchmarks/train_step.py                      # both profiles, CPU (or GPU when available)
    python benchmarks/train_step.py --profile paper --steps 3 --device cuda --amp bf16

Each profile runs in its own subprocess (so the peak RSS is its own) on a toy workspace (coloured
shapes, ``hodor.train.toydata``) with images of the profile's source size: quick ~240x320 (the
synthetic COCO size), paper 480x640 (COCO's typical size, resized to the official 300,000-pixel budget).
CPU runs of the paper profile use reduced iterations and a global batch of 1 (one 3-frame sample);
on a GPU the paper profile runs with the official batch (8 = 4 x 2 with accumulation) and AMP.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

PROFILES = {"quick": (10, (240, 320)), "paper": (2, (480, 640))}


def run_profile(profile: str, steps: int, device: str, amp: str, threads: int) -> dict:
    from hodor.model import ModelParams
    from hodor.train.distributed import DistContext
    from hodor.train.params import PAPER_STATIC, QUICK_STATIC
    from hodor.train.run import train
    from hodor.train.toydata import make_toy_workspace

    torch.set_num_threads(threads)
    gpu = device == "cuda"
    if profile == "quick":
        params, model_params = (
            QUICK_STATIC,
            ModelParams(variant="quick", backbone="resnet10t", decoder_layers=1),
        )
    else:
        params, model_params = PAPER_STATIC, ModelParams(variant="paper")
        if not gpu:
            params = dataclasses.replace(params, batch_size=1, samples_per_forward=1)
    params = dataclasses.replace(params, iterations=steps + 1, amp=amp, save_interval=10**6, num_workers=0)
    with tempfile.TemporaryDirectory() as tmp:
        ws = make_toy_workspace(Path(tmp) / "ws", images=8, videos=1, size=PROFILES[profile][1])
        ctx = DistContext(device=torch.device("cuda", 0) if gpu else torch.device("cpu"))
        times: list[float] = []

        from hodor.train.loop import Hook

        class Clock(Hook):
            def after_step(self, trainer, metrics):
                times.append(time.perf_counter())

        start = time.perf_counter()
        summary = train("static", model_params=model_params, params=params, seed=0, workspace=ws,
                        out_dir=Path(tmp) / "out", ctx=ctx, hooks=[Clock()], progress=False)  # fmt: skip
    step_s = (times[-1] - times[0]) / max(1, len(times) - 1)  # first step excluded (warm-up)
    return {
        "profile": profile,
        "device": torch.cuda.get_device_name(0) if gpu else f"cpu x{threads} threads",
        "amp": amp,
        "global_batch": params.batch_size,
        "steps": summary.steps,
        "it_per_s": 1.0 / step_s,
        "samples_per_s": params.batch_size / step_s,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if gpu else None,
        "wall_s": time.perf_counter() - start,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), help="one profile (default: both)")
    parser.add_argument("--steps", type=int, help="timed steps (default quick 10, paper 2)")
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--amp", choices=["none", "bf16", "fp16"], help="default: bf16 on GPU, none on CPU")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    amp = args.amp or ("bf16" if args.device == "cuda" else "none")
    if args.child:
        steps = args.steps or PROFILES[args.profile][0]
        print(json.dumps(run_profile(args.profile, steps, args.device, amp, args.threads)))
        return 0
    for profile in [args.profile] if args.profile else list(PROFILES):
        cmd = [sys.executable, __file__, "--child", "--profile", profile, "--device", args.device, "--amp", amp,
               "--threads", str(args.threads)] + (["--steps", str(args.steps)] if args.steps else [])  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{profile}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        gpu = f", peak GPU {r['peak_gpu_gib']:.2f} GiB" if r["peak_gpu_gib"] is not None else ""
        print(f"train_step {r['profile']:6s} [{r['device']}, amp {r['amp']}, global batch {r['global_batch']}]: "
              f"{r['it_per_s']:.3f} it/s ({r['samples_per_s']:.2f} samples/s), peak RSS {r['peak_rss_gib']:.2f} GiB"
              f"{gpu}, {r['steps']} steps in {r['wall_s']:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
