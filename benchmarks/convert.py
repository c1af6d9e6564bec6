"""Benchmark: DAVIS conversion speed, one process vs the process pool, on the same data in one run.

Writes a synthetic DAVIS-2017-trainval-sized raw set (default 90 sequences, ~6,000 frames at 480x854, 1-4
smooth moving objects per sequence, like DAVIS) into a temporary folder, converts it with ``workers=1`` and
``workers=N``, checks both JSONs are identical, and prints frames/s of each.

    python benchmarks/convert.py                       # 6,030 frames at 480x854, workers 1 vs 2
    python benchmarks/convert.py --frames 600 --height 240 --width 432
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from hodor.convert.run import build
from hodor.data.palette import write_label_png


def ellipse_labels(t: int, n_objects: int, h: int, w: int, rng_seed: int) -> np.ndarray:
    """uint8 [h, w] id map of ``n_objects`` ellipses drifting over time (DAVIS-like smooth masks)."""
    rng = np.random.default_rng(rng_seed)
    yy, xx = np.ogrid[:h, :w]
    labels = np.zeros((h, w), np.uint8)
    for k in range(1, n_objects + 1):
        cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.08, 0.25) * h, rng.uniform(0.05, 0.2) * w
        vy, vx = rng.uniform(-1, 1, 2)
        inside = ((yy - cy - vy * t) / ry) ** 2 + ((xx - cx - vx * t) / rx) ** 2 <= 1
        labels[inside] = k
    return labels


def write_raw(root: Path, sequences: int, frames: int, h: int, w: int) -> int:
    """DAVIS layout under ``root``; distinct textured JPEGs per frame index, hard-linked across sequences."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    pool = root / "_frames"
    pool.mkdir(parents=True)
    for t in tqdm(range(frames), desc="frames", unit="frame"):
        noise = rng.integers(0, 12, (h, w, 3), dtype=np.uint8)  # mild: JPEG sizes like real frames
        image = np.kron(np.roll(base, t, axis=1), np.ones((8, 8, 1), np.uint8))[:h, :w] + noise
        Image.fromarray(image).save(pool / f"{t:05d}.jpg", quality=90)
    names = [f"seq{i:03d}" for i in range(sequences)]
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "train.txt").write_text("\n".join(names) + "\n")
    for i, name in enumerate(tqdm(names, desc="sequences", unit="seq")):
        (root / "JPEGImages" / "480p" / name).mkdir(parents=True)
        for t in range(frames):
            os.link(pool / f"{t:05d}.jpg", root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg")
            labels = ellipse_labels(t, 1 + i % 4, h, w, rng_seed=i)
            write_label_png(root / "Annotations" / "480p" / name / f"{t:05d}.png", labels)
    return sequences * frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6030, help="total frames (DAVIS trainval: 6,208)")
    parser.add_argument("--sequences", type=int, default=90)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, help="where to write the raw set (default: a temp folder)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hodor-bench-convert-", dir=args.dir))
    try:
        start = time.perf_counter()
        per_seq = max(1, args.frames // args.sequences)
        total = write_raw(tmp / "DAVIS", args.sequences, per_seq, args.height, args.width)
        print(f"wrote {total} frames of {args.height}x{args.width} in {time.perf_counter() - start:.0f} s")
        os.sync()
        results = {}
        for workers in (1, args.workers):
            doc, _, summary = build("davis_train", tmp / "DAVIS", workers=workers, progress=True)
            results[workers] = (summary, json.dumps(doc))
            print(f"workers={workers}: {summary.line()}")
        assert results[1][1] == results[args.workers][1], "pool and single-process JSONs differ"
        single, pool = results[1][0].frames_per_s, results[args.workers][0].frames_per_s
        print(
            f"DAVIS conversion, {total} frames {args.height}x{args.width}: {single:.0f} frames/s single process, "
            f"{pool:.0f} frames/s with {args.workers} workers (x{pool / single:.2f}); os.cpu_count()={os.cpu_count()}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
