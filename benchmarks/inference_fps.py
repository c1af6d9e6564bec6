"""Inference speed and memory of the VideoSegmenter (random weights; speed does not depend on them).

    python benchmarks/inference_fps.py [--threads 1] [--frames 4] [--device cpu] [--json out.json]

1. fps (network only: frames in memory, no PNG writing) for
   * the paper model (Swin-T) at 480p: 480x854 frames, min image dim 480 -> input 480x854 (padded 480x864),
   * the quick model at the quick size: 240x427 frames, min image dim 160 -> input 160x284,
   each in fp32 and under bf16 autocast.
2. peak RSS of a fresh process segmenting 20, 200 and 600 frames (quick model, quick size, frames
   generated on the fly): memory must not grow with the video length (the history is bounded by the
   temporal window; the allocator's high-water mark settles within the first ~200 frames).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import torch

from hodor.infer.segmenter import VideoSegmenter
from hodor.model import ModelParams, build_model

SETTINGS = {  # name -> (variant, frame size, min image dim, max image dim)
    "paper@480p": ("paper", (480, 854), 480, 926),
    "quick@160": ("quick", (240, 427), 160, 309),
}


def video(n: int, hw: tuple[int, int]) -> Iterator[np.ndarray]:
    """A textured frame with two boxes moving, generated on the fly (nothing kept)."""
    h, w = hw
    base = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    for t in range(n):
        frame = base.copy()
        x = (5 * t) % (w // 2)
        frame[h // 4 : h // 2, x : x + w // 5] = (30, 200, 240)
        frame[h // 2 : 3 * h // 4, w - x - w // 5 : w - x] = (200, 60, 30)
        yield frame


def first_mask(hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    m = np.zeros(hw, np.uint8)
    m[h // 4 : h // 2, 0 : w // 5] = 1
    m[h // 2 : 3 * h // 4, w - w // 5 : w] = 2
    return m


def segment(model, setting: str, n: int, amp: torch.dtype | None, device: str) -> float:
    """Seconds to segment n frames (temporal window 7, as the README's DAVIS command)."""
    _, hw, min_dim, max_dim = SETTINGS[setting]
    seg = VideoSegmenter(model, temporal_window=7, device=device, amp_dtype=amp,
                         min_image_dim=min_dim, max_image_dim=max_dim, backbone_batch_size=8)  # fmt: skip
    seg.reset(setting)
    seg.add_mask(0, first_mask(hw))
    frames = list(video(n, hw))
    start = time.perf_counter()
    for _ in seg.propagate(frames):
        pass
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def fps_table(frames: int, device: str) -> dict[str, float]:
    results = {}
    for setting, (variant, *_rest) in SETTINGS.items():
        torch.manual_seed(0)
        model = build_model(ModelParams(variant=variant)).eval().to(device)
        n = frames if variant == "paper" else 4 * frames
        segment(model, setting, 2, None, device)  # warm-up (allocator, oneDNN kernels)
        for amp_name, amp in (("fp32", None), ("bf16", torch.bfloat16)):
            seconds = segment(model, setting, n, amp, device)
            results[f"{setting} {amp_name}"] = n / seconds
            print(
                f"{setting:<11} {amp_name}: {n / seconds:7.2f} fps  ({n} frames in {seconds:.1f} s)",
                flush=True,
            )
    return results


def peak_rss_mib() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss would include the parent's peak across exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(n: int) -> None:
    """Segment n frames in this fresh process; print the peak RSS in MiB before and after segmenting."""
    torch.manual_seed(0)
    model = build_model(ModelParams(variant="quick")).eval()
    before = peak_rss_mib()  # torch + model: the baseline
    _, hw, min_dim, max_dim = SETTINGS["quick@160"]
    seg = VideoSegmenter(model, temporal_window=7, device="cpu", min_image_dim=min_dim, max_image_dim=max_dim)
    seg.reset("rss")
    seg.add_mask(0, first_mask(hw))
    for _ in seg.propagate(video(n, hw)):
        pass
    print(before, peak_rss_mib())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fair on a shared machine)")
    parser.add_argument("--frames", type=int, default=4, help="frames timed for the paper model (quick: 4x)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.rss_child:
        rss_child(args.rss_child)
        return
    results = {"threads": args.threads, "device": args.device, "fps": fps_table(args.frames, args.device)}
    rss = {}
    for n in (20, 200, 600):
        cmd = [sys.executable, __file__, "--threads", str(args.threads), "--rss-child", str(n)]
        base, rss[n] = map(
            float, subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
        )
        print(
            f"peak RSS, quick model, {n:>3} frames: {rss[n]:7.1f} MiB (torch + model alone: {base:.1f})",
            flush=True,
        )
    results["peak_rss_mib"] = rss
    print(
        f"inference_fps: peak RSS 200 vs 20 frames {rss[200] - rss[20]:+.1f} MiB, 600 vs 200 frames "
        f"{rss[600] - rss[200]:+.1f} MiB (the allocator settles in the first ~200 frames, then stays flat)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
