"""Where the inference time goes: the scenario of inference_fps.py under module timers and torch.profiler.

    python benchmarks/profile_inference.py [--setting paper@480p] [--frames 3] [--threads 2] [--top 20]

Runs the current code only (the ratio against the baseline is inference_fps.py's job): random weights,
a 2-frame warm-up, then ``--frames`` frames timed twice -- once with wall-clock timers around the model's
parts (backbone, FPN + norms, encoder, decoder and its pieces, the rest = segmenter post-processing), once
under ``torch.profiler`` (self CPU time per operator). Both tables print shares in %, which is what
guides a change on a shared machine where absolute seconds move with other people's load.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from inference_fps import SETTINGS, segment
from torch import nn

from hodor.model import ModelParams, build_model


def _parts(model: nn.Module) -> dict[str, nn.Module]:
    """The pieces timed by hooks (disjoint except the decoder, whose pieces are also listed inside it)."""
    fe, dec = model.feature_extractor, model.decoder
    parts = {"backbone": fe.backbone, "fpn": fe.fpn, "encoder": model.encoder, "decoder": dec}
    for i, layer in enumerate(dec.attn_layers):
        parts[f"decoder.deform_block{i}"] = layer.self_attn_conv_substitute
    parts |= {"decoder.conv_4x": dec.conv_4x, "decoder.catch_all": dec.catch_all_conv}
    parts["decoder.conv_4x_reduce"] = dec.conv_4x_reduce
    return parts


@contextmanager
def module_timers(model: nn.Module) -> Iterator[dict[str, float]]:
    """Accumulated wall seconds per part while the block runs (forward hooks; no device: CPU only)."""
    spent: dict[str, float] = defaultdict(float)
    handles = []
    for name, mod in _parts(model).items():
        starts: list[float] = []
        handles.append(mod.register_forward_pre_hook(lambda *_, s=starts: s.append(time.perf_counter())))
        handles.append(
            mod.register_forward_hook(
                lambda *_, s=starts, n=name: spent.__setitem__(n, spent[n] + time.perf_counter() - s.pop())
            )
        )
    try:
        yield spent
    finally:
        for h in handles:
            h.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="paper@480p")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--shapes", action="store_true", help="operators split by input shapes too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelParams(variant=SETTINGS[args.setting][0])).eval()
    segment(model, args.setting, 2, None)  # warm-up
    with module_timers(model) as spent:
        total, _ = segment(model, args.setting, args.frames, None)
    print(f"module timers: {total:.1f} s for {args.frames} frames ({total / args.frames:.2f} s/frame)")
    accounted = sum(v for k, v in spent.items() if "." not in k)
    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26} {sec:7.2f} s {100 * sec / total:5.1f}%")
    print(f"  {'rest (segmenter)':<26} {total - accounted:7.2f} s {100 * (total - accounted) / total:5.1f}%")
    cpu = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=cpu, record_shapes=args.shapes) as prof:
        total, _ = segment(model, args.setting, args.frames, None)
    events = prof.key_averages(group_by_input_shape=args.shapes)
    self_total = sum(e.self_cpu_time_total for e in events) / 1e6
    print(f"torch.profiler: {total:.1f} s wall, {self_total:.1f} s self CPU; top operators by self CPU:")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        sec = e.self_cpu_time_total / 1e6
        shapes = f"  {e.input_shapes}"[:160] if args.shapes else ""
        print(f"  {e.key:<40} {sec:7.2f} s {100 * sec / self_total:5.1f}%  calls {e.count}{shapes}")


if __name__ == "__main__":
    main()
