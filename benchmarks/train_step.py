"""Training-step speed against the pinned baseline (today's main), same weights and batches, one run.

    python benchmarks/train_step.py [--size 192x320] [--steps 3] [--threads 2] [--json out.json]
    python benchmarks/train_step.py --baseline none --device cuda --amp bf16 --size 480x640 \\
        --batch 2 --accumulation 4 --objects 4          # the paper batch on a GPU (benchmarks/gpu_check.sh)

The step of issue 14: the paper model, a 3-frame sample (reference + 2 other frames, all annotated) with
``--objects`` moving boxes, every cycle, dice + CE, backward, AdamW at the paper's base learning rate (no
warm-up, so weights really move). Each side runs in a child process with the baseline export or this
repository first on PYTHONPATH (benchmarks/baseline.py) from the same initial weights, batches and seeds;
per precision ``--repeats`` rounds of baseline and current, the order reversed every other round (fp32
first, then bf16 autocast). The first step is a warm-up (not timed; its loss is compared). Printed: each
child's seconds per optimizer step with the load average at its start, the ratio of the sides' medians, and
the largest relative difference of the per-step losses between the sides.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch
from baseline import BASELINE_COMMIT, REPO, baseline_checkout, interleaved, load_average, median, run_child


def make_batch(b: int, hw: tuple[int, int], num_obj: int, frames: int = 3) -> dict:
    """Normalised noise images and ``num_obj`` boxes moving right by 8 px a frame (all present)."""
    gen = torch.Generator().manual_seed(0)
    h, w = hw
    images = torch.randn(b, frames, 3, h, w, generator=gen)
    labels = torch.zeros(b, frames, h, w, dtype=torch.long)
    for f in range(frames):
        for i in range(num_obj):
            y0, x0 = (h // 8) * (1 + i % 3), (w // 10) * (1 + i) + 8 * f
            labels[:, f, y0 : y0 + h // 4, x0 : x0 + w // 6] = i + 1
    presence = torch.ones(b, frames, num_obj, dtype=torch.bool)
    return {"images": images, "labels": labels, "presence": presence, "has_gt": [True] * frames}


def child(args: argparse.Namespace) -> None:
    """One side: ``--steps`` + 1 optimizer steps (the first untimed) -> seconds per step and losses."""
    import hodor
    from hodor.model import ModelParams, build_model
    from hodor.train.cycles import TrainingModel
    from hodor.train.optim import build_optimizer
    from hodor.train.params import PAPER_STATIC

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = build_model(ModelParams(variant="paper"))
    model.load_state_dict(torch.load(args.weights, weights_only=True))
    model.to(device)
    wrapper = TrainingModel(model)
    optimizer, scheduler = build_optimizer(model, dataclasses.replace(PAPER_STATIC, warmup_iters=0))
    hw = tuple(int(v) for v in args.size.split("x"))
    batch = {
        k: v.to(device) if torch.is_tensor(v) else v
        for k, v in make_batch(args.batch, hw, args.objects).items()
    }
    dtype = torch.bfloat16 if args.amp == "bf16" else None
    losses, stamps = [], []
    for step in range(args.steps + 1):
        wrapper.train()
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for sub in range(args.accumulation):
            index = step * args.accumulation + sub  # its parity picks the cycle variant, as in training
            torch.manual_seed(1000 + index)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = wrapper(batch, index)["loss"]
            (loss / args.accumulation).backward()
            total += float(loss.detach()) / args.accumulation
        optimizer.step()
        scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        losses.append(total)
        stamps.append(time.perf_counter())
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    step_s = (stamps[-1] - stamps[0]) / max(1, args.steps)
    print(json.dumps({"step_s": step_s, "losses": losses, "peak_gpu_gib": peak, "hodor": hodor.__file__}))


def compare(args: argparse.Namespace) -> dict:
    sides = {"current": REPO} if args.baseline == "none" else {"baseline": baseline_checkout(args.baseline)}
    sides["current"] = REPO
    results: dict[str, list[dict]] = {}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        from hodor.model import ModelParams, build_model

        torch.manual_seed(0)
        torch.save(build_model(ModelParams(variant="paper")).state_dict(), weights)
        amps = ["fp32", "bf16"] if args.amp == "both" else [args.amp]
        for amp in amps:
            for side, code in interleaved(sides, args.repeats):
                child_args = ["--size", args.size, "--steps", str(args.steps), "--batch", str(args.batch),
                              "--accumulation", str(args.accumulation), "--objects", str(args.objects),
                              "--device", args.device, "--amp", amp, "--threads", str(args.threads),
                              "--weights", str(weights)]  # fmt: skip
                loads.append(load_average())
                r = run_child(Path(__file__), code, child_args, args.threads)
                results.setdefault(f"{side} {amp}", []).append(r)
                losses = ", ".join(f"{v:.7f}" for v in r["losses"])
                print(f"{side:<8} {amp}: {r['step_s']:.2f} s/step (losses {losses}; load average "
                      f"{loads[-1]:.1f} at its start)", flush=True)  # fmt: skip
    step_s = {k: median([r["step_s"] for r in rs]) for k, rs in results.items()}
    out = {"size": args.size, "batch": args.batch, "accumulation": args.accumulation, "objects": args.objects,
           "device": args.device, "threads": args.threads, "baseline_commit": args.baseline,
           "repeats": args.repeats, "s_per_step_median": step_s,
           "s_per_step": {k: [r["step_s"] for r in rs] for k, rs in results.items()},
           "load_average_min_max": [min(loads), max(loads)],
           "peak_gpu_gib": {k: rs[-1]["peak_gpu_gib"] for k, rs in results.items()}}  # fmt: skip
    for amp in amps:
        if f"baseline {amp}" not in results:
            continue
        rel = max(
            abs(a - b) / abs(b)
            for cur in results[f"current {amp}"]
            for base in results[f"baseline {amp}"]
            for a, b in zip(cur["losses"], base["losses"], strict=True)
        )
        out[f"ratio_{amp}"] = step_s[f"baseline {amp}"] / step_s[f"current {amp}"]
        out[f"loss_max_rel_diff_{amp}"] = rel
        print(f"train_step {args.size} {amp}: current {out[f'ratio_{amp}']:.2f}x baseline {args.baseline} "
              f"(medians of {args.repeats} rounds, load average {min(loads):.1f}-{max(loads):.1f}), losses "
              f"of {args.steps + 1} steps agree to {rel:.1e} relative")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="192x320", help="HxW of the images (multiples of 32)")
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps (after one warm-up)")
    parser.add_argument("--batch", type=int, default=1, help="samples per forward")
    parser.add_argument("--accumulation", type=int, default=1, help="forwards per optimizer step")
    parser.add_argument("--objects", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", choices=["fp32", "bf16", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved rounds; medians are compared")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit to compare against, or none")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    result = compare(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
