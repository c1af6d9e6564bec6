"""Per-frame inference cost of the HODOR model: time, peak memory, parameters; fused vs naive attention.

One "frame" is what the streaming inference does per frame: backbone + FPN on the frame, decode it with a
history of T descriptors for I objects, re-encode its descriptors from soft masks. Configurations
(variant x size x precision x attention kind) each run in a fresh process so that the CPU peak memory
(``ru_maxrss`` growth over the built model) belongs to that configuration alone; on CUDA the peak is
``max_memory_allocated``. "cpu s" is the process CPU time per frame (all threads): on a shared machine it
moves less with other people's load than the wall-clock time.
"Naive" replaces the encoder's fused soft-masked attention (``F.scaled_dot_product_attention`` with an
additive float mask) by an explicit softmax of the masked logits; a micro-benchmark of that attention alone
(forward + backward, at the stride-8 size of the frame; best of the reps) is printed too.

    python benchmarks/model_forward.py --threads 2 --reps 3            # CPU, fp32 and bf16 autocast
    python benchmarks/model_forward.py --device cuda --dtypes fp32 fp16 bf16

Measured 2026-11-25 on the shared 2-core AMD EPYC (avx512_bf16) with nobody else running, torch 2.14.1,
threads 2, I=3, T=7, median of 3 (s/frame; fused | naive attention):
paper 480x864 fp32 2.58 | 2.61, bf16 2.04 | 2.04; paper 160x288 fp32 0.31 | 0.33, bf16 0.23 | 0.24;
quick 480x864 fp32 0.38 | 0.37, bf16 0.30 | 0.30; quick 160x288 fp32 0.054 | 0.053, bf16 0.053 | 0.051.
Peak RSS growth: paper 480x864 ~340 MiB fp32 / ~260 MiB bf16. Attention alone (fwd+bwd, 12 x 6480):
fused 32 ms, naive 30 ms -- on CPU the fused path gains nothing (the encoder is ~4% of a frame). With other
2-thread jobs running, OpenMP threads spin and times swing 3-5x: trust only a quiet run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from hodor.atomic import write_json
from hodor.model import MODEL_VARIANTS, build_model
from hodor.model.attention import SoftMaskedAttention
from hodor.model.masks import encoder_masks_from_probs

SIZES = {"480x854": (480, 864), "quick": (160, 288)}  # 854 pads to 864 (multiple of 32)
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _frame_step(model, image, fg_hist, bg_hist, amp, device) -> None:
    """One inference frame: features, decode with the history, soft masks, re-encode."""
    with torch.inference_mode(), amp:
        feats = model.extract_features(image)
        logits = model.decode_masks(feats, fg_hist, bg_hist)
        probs = logits.float().softmax(1)
        probs8 = torch.nn.functional.interpolate(probs, size=feats[8].shape[-2:], mode="bilinear")
        fg8, bg8 = encoder_masks_from_probs(probs8[:, 1 + model.num_bg :], model.num_bg)
        model.encode_descriptors(feats[8], fg8, bg8)
    _sync(device)


def run_config(cfg: dict) -> dict:
    """Runs in a fresh process; returns timings (s) and peak memory (MiB)."""
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    device = cfg["device"]
    model = build_model(MODEL_VARIANTS[cfg["variant"]]).eval().to(device)
    if cfg["attention"] == "naive":
        for layer in model.encoder.attn_layers:
            layer.cross_attn.forward = layer.cross_attn.forward_naive
    h, w = SIZES[cfg["size"]]
    image = torch.randn(1, 3, h, w, device=device)
    objs, t = cfg["objects"], cfg["history"]
    fg_hist = torch.randn(1, objs, t, model.dim, device=device)
    bg_hist = torch.randn(1, model.num_bg, t, model.dim, device=device)
    dtype = DTYPES[cfg["dtype"]]
    amp = torch.autocast(device, dtype=dtype) if dtype is not None else nullcontext()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _frame_step(model, image, fg_hist, bg_hist, amp, device)  # warm-up
    times, cpu_times = [], []
    for _ in range(cfg["reps"]):
        start, cpu_start = time.perf_counter(), time.process_time()
        _frame_step(model, image, fg_hist, bg_hist, amp, device)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    params = sum(p.numel() for p in model.parameters())
    return {
        **cfg,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "cpu_s": statistics.median(cpu_times),
        "peak_mib": peak,
        "params": params,
    }


def attention_micro(device: str, size: tuple[int, int], reps: int, threads: int) -> dict:
    """Fused vs naive soft-masked attention alone (C=256, 8 heads, 12 queries), forward + backward."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    attn = SoftMaskedAttention(256, 8, 0.0, (32, 32, 16, 16, 8, 8, 4, 4)).to(device)
    pixels = (size[0] // 8) * (size[1] // 8)
    q = torch.randn(1, 12, 256, device=device)
    kv = torch.randn(1, pixels, 256, device=device)
    mask = torch.rand(1, 12, pixels, device=device, requires_grad=True)
    out = {}
    for kind, fn in (("fused", attn.forward), ("naive", attn.forward_naive)):
        times = []
        for i in range(reps + 1):
            start = time.perf_counter()
            fn(q, kv, kv, mask).sum().backward()
            _sync(device)
            if i:
                times.append(time.perf_counter() - start)
        out[kind] = min(times)  # min: the least disturbed run on a shared machine
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["paper", "quick"], choices=sorted(MODEL_VARIANTS))
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=list(DTYPES))
    parser.add_argument("--objects", type=int, default=3)
    parser.add_argument("--history", type=int, default=7, help="T descriptors per object (temporal window)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    configs = [
        dict(variant=v, size=s, dtype=d, attention=a, device=args.device, threads=args.threads, reps=args.reps,
             objects=args.objects, history=args.history)
        for v in args.variants for s in args.sizes for d in args.dtypes for a in ("fused", "naive")
    ]  # fmt: skip
    ctx = mp.get_context("spawn")
    results = []
    print(
        f"device {args.device}, torch threads {args.threads}, {args.reps} reps, I={args.objects}, T={args.history}"
    )
    print(f"{'variant':7} {'size':8} {'dtype':5} {'attention':9} {'median s':>9} {'min s':>7} {'cpu s':>7} "
          f"{'peak MiB':>9} params")  # fmt: skip
    for cfg in configs:
        with ctx.Pool(1) as pool:  # fresh process: its peak RSS is this configuration's
            r = pool.apply(run_config, (cfg,))
        results.append(r)
        print(f"{r['variant']:7} {r['size']:8} {r['dtype']:5} {r['attention']:9} {r['median_s']:9.3f} "
              f"{r['min_s']:7.3f} {r['cpu_s']:7.3f} {r['peak_mib']:9.0f} {r['params']:,}", flush=True)  # fmt: skip
    micro = {s: attention_micro(args.device, SIZES[s], args.reps, args.threads) for s in args.sizes}
    for s, m in micro.items():
        print(f"soft-masked attention alone at {s} (fwd+bwd): fused {m['fused'] * 1e3:.2f} ms, "
              f"naive {m['naive'] * 1e3:.2f} ms")  # fmt: skip
    if args.json:
        write_json(args.json, {"frames": results, "attention_micro": micro}, indent=2)


if __name__ == "__main__":
    main()
