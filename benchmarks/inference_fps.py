"""Inference speed against the pinned baseline (today's main), same weights, same frames, one run.

    python benchmarks/inference_fps.py [--setting paper@480p] [--frames 6] [--threads 2] [--json out.json]
    python benchmarks/inference_fps.py --rss            # peak RSS vs video length (current code only)

The scenario of issue 14: temporal window 7, objects 1 and 2 given in frame 0 and object 3 in frame 2,
``--threads`` torch threads. Settings: ``paper@480p`` = the paper model (Swin-T) on 480x854 frames, min
image dim 480 (network input 480x854, padded 480x864); ``quick@160`` = the quick model on 240x427 frames
(a fast check of this script). Both sides load the same random weights (a state dict written here) and run
in child processes with the baseline export or this repository first on PYTHONPATH (benchmarks/baseline.py),
interleaved per precision (``--amp``): ``--repeats`` rounds of baseline and current, the order reversed every
other round. Timed: the network and the per-frame post-processing over frames held in memory (no PNG
writing), after a 2-frame warm-up. Printed: each child's time and the load average when it started, the
median fps of each side, current/baseline ratios of the medians (bf16 also against baseline fp32), and how
many label pixels differ between the sides (fp32 vs fp32, bf16 vs fp32). On a CPU without bf16 units
(no avx512_bf16 / amx in ``lscpu``) bf16 is emulated and slower than fp32: use ``--amp fp32`` there.

``--rss``: peak RSS of a fresh process segmenting 20, 200 and 600 frames (quick model): memory must not
grow with the video length (the history is bounded by the temporal window).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from baseline import BASELINE_COMMIT, REPO, baseline_checkout, interleaved, load_average, median, run_child

SETTINGS = {  # name -> (variant, frame size, min image dim, max image dim)
    "paper@480p": ("paper", (480, 854), 480, 926),
    "quick@160": ("quick", (240, 427), 160, 309),
}
LATE_FRAME = 2  # object 3 is first given here


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


def late_mask(hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    m = np.zeros(hw, np.uint8)
    m[h // 10 : h // 4, 2 * w // 5 : 3 * w // 5] = 3
    return m


def segment(model, setting: str, n: int, amp: torch.dtype | None) -> tuple[float, np.ndarray]:
    """Seconds to segment n frames, and their labels [n, H, W] (either side's VideoSegmenter API)."""
    from hodor.infer.segmenter import VideoSegmenter

    _, hw, min_dim, max_dim = SETTINGS[setting]
    seg = VideoSegmenter(model, temporal_window=7, device="cpu", amp_dtype=amp,
                         min_image_dim=min_dim, max_image_dim=max_dim, backbone_batch_size=8)  # fmt: skip
    seg.reset(setting)
    seg.add_mask(0, first_mask(hw))
    if n > LATE_FRAME:
        seg.add_mask(LATE_FRAME, late_mask(hw))
    frames = list(video(n, hw))
    start = time.perf_counter()
    labels = [r.labels for r in seg.propagate(frames)]
    return time.perf_counter() - start, np.stack(labels)


def child(args: argparse.Namespace) -> None:
    """One side: load the shared weights, warm up, time ``--frames`` frames, save the labels."""
    import hodor
    from hodor.model import ModelParams, build_model

    torch.set_num_threads(args.threads)
    model = build_model(ModelParams(variant=SETTINGS[args.setting][0]))
    model.load_state_dict(torch.load(args.weights, weights_only=True))
    model.eval()
    amp = torch.bfloat16 if args.amp == "bf16" else None
    segment(model, args.setting, 2, amp)  # warm-up (allocator, oneDNN kernels)
    seconds, labels = segment(model, args.setting, args.frames, amp)
    np.save(args.labels_out, labels)
    print(json.dumps({"seconds": seconds, "fps": args.frames / seconds, "hodor": hodor.__file__}))


def compare(args: argparse.Namespace) -> dict:
    base_dir = baseline_checkout(args.baseline)
    sides = {"baseline": base_dir, "current": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        from hodor.model import ModelParams, build_model

        torch.manual_seed(0)
        torch.save(build_model(ModelParams(variant=SETTINGS[args.setting][0])).state_dict(), weights)
        times: dict[str, list[float]] = {}
        loads: list[float] = []
        labels: dict[str, np.ndarray] = {}
        for amp in ("fp32", "bf16") if args.amp == "both" else (args.amp,):
            for side, code in interleaved(sides, args.repeats):
                key = f"{side} {amp}"
                out = Path(tmp) / f"{side}-{amp}.npy"
                child_args = ["--setting", args.setting, "--frames", str(args.frames), "--amp", amp,
                              "--threads", str(args.threads), "--weights", str(weights),
                              "--labels-out", str(out)]  # fmt: skip
                loads.append(load_average())
                r = run_child(Path(__file__), code, child_args, args.threads)
                times.setdefault(key, []).append(r["seconds"])
                labels[key] = np.load(out)
                print(
                    f"{key:<14} {args.frames / r['seconds']:6.3f} fps ({r['seconds']:.1f} s, "
                    f"load average {loads[-1]:.1f} at its start)",
                    flush=True,
                )
    fps = {k: args.frames / median(v) for k, v in times.items()}  # medians of the rounds
    n = next(iter(labels.values())).size

    def differ(a: str, b: str) -> int | None:
        return int((labels[a] != labels[b]).sum()) if a in labels and b in labels else None

    def ratio(a: str, b: str) -> float | None:
        return fps[a] / fps[b] if a in fps and b in fps else None

    result = {
        "setting": args.setting, "frames": args.frames, "threads": args.threads, "repeats": args.repeats,
        "baseline_commit": args.baseline, "seconds": times, "fps_median": fps,
        "load_average_min_max": [min(loads), max(loads)],
        "ratio_fp32": ratio("current fp32", "baseline fp32"),
        "ratio_bf16": ratio("current bf16", "baseline bf16"),
        "ratio_current_bf16_vs_baseline_fp32": ratio("current bf16", "baseline fp32"),
        "label_pixels": n,
        "differ_fp32_current_vs_baseline": differ("current fp32", "baseline fp32"),
        "differ_bf16_current_vs_baseline": differ("current bf16", "baseline bf16"),
        "differ_current_bf16_vs_fp32": differ("current bf16", "current fp32"),
    }  # fmt: skip
    parts = [
        f"{amp} {result[f'ratio_{amp}']:.2f}x ({result[f'differ_{amp}_current_vs_baseline']} of {n} label "
        "pixels differ)"
        for amp in ("fp32", "bf16")
        if result[f"ratio_{amp}"] is not None
    ]
    print(
        f"inference_fps {args.setting}, {args.frames} frames, {args.threads} threads, {args.repeats} rounds "
        f"(medians), vs {args.baseline}: {', '.join(parts)}; load average {min(loads):.1f}-{max(loads):.1f}"
    )
    return result


def peak_rss_mib() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss would include the parent's peak across exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(n: int) -> None:
    """Segment n frames in this fresh process; print the peak RSS in MiB before and after segmenting."""
    from hodor.infer.segmenter import VideoSegmenter
    from hodor.model import ModelParams, build_model

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


def rss_table(threads: int) -> dict[int, float]:
    rss = {}
    for n in (20, 200, 600):
        cmd = [sys.executable, __file__, "--threads", str(threads), "--rss-child", str(n)]
        base, rss[n] = map(
            float, subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
        )
        print(f"peak RSS, quick model, {n:>3} frames: {rss[n]:7.1f} MiB (torch + model alone: {base:.1f})")
    print(
        f"inference_fps: peak RSS 200 vs 20 frames {rss[200] - rss[20]:+.1f} MiB, 600 vs 200 frames "
        f"{rss[600] - rss[200]:+.1f} MiB (the allocator settles in the first ~200 frames, then stays flat)"
    )
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="paper@480p")
    parser.add_argument("--frames", type=int, default=6, help="timed frames per side and precision")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per child")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; medians are compared")
    parser.add_argument("--amp", choices=["fp32", "bf16", "both"], default="both")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit to compare against")
    parser.add_argument("--rss", action="store_true", help="only the peak-RSS check (current code)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--labels-out", help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        child(args)
        return
    if args.rss_child:
        rss_child(args.rss_child)
        return
    result = {"peak_rss_mib": rss_table(args.threads)} if args.rss else compare(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
