"""DAVIS J&F scoring race: the official toolkit, vos-benchmark and ``hodor evaluate davis``, one run.

Builds a DAVIS-val-sized synthetic set (30 sequences, 854x480, about 2,000 frames, 1-5 moving objects,
void lines in some ground-truth frames, imperfect predictions: shifted, eroded/dilated, with spurious
blobs and lost objects) and times each scorer the way its users run it, as a separate command:

- official: ``python evaluation_method.py --task semi-supervised ...`` of davis2017-evaluation (one
  process), from ``--official`` (default ``../shared/reference/davis2017-evaluation``; not installed);
- vos-benchmark (PyPI, pure Python): ``vos_benchmark.benchmark.benchmark([gt], [pred], num_processes=2)``.
  Its dependency ``opencv-python`` clashes with our ``opencv-python-headless``, so install it apart,
  without dependencies (it then runs on our NumPy / OpenCV / scikit-image)::

      pip install --no-deps --target /tmp/vos-benchmark vos-benchmark==0.1.0

  and pass ``--vos-benchmark /tmp/vos-benchmark`` (skipped, with this hint, when absent);
- ours: ``hodor evaluate davis`` with its default workers.

The runs are interleaved (ours, vos-benchmark, official, vos-benchmark, ours, ...) so that the load of
other users' processes hits all alike; the medians are compared, and the load average is printed with
them. Numbers must be identical: our CSVs byte for byte against the official script's, and our
full-precision per-object J-Mean / F-Mean against vos-benchmark's (which also scores the void label 255
as an object where the ground truth has void; those rows are left out of the comparison).
Usage: ``python benchmarks/davis_eval.py [--vos-benchmark DIR] [--repeat 2] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hodor.data.palette import davis_palette

H, W = 480, 854
REPO = Path(__file__).resolve().parents[1]


def _save(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels, mode="P")
    image.putpalette(davis_palette().reshape(-1).tolist())
    image.save(path)


def _draw(rng: np.random.Generator, objects: list[dict], t: int) -> np.ndarray:
    labels = np.zeros((H, W), dtype=np.uint8)
    for obj in objects:
        cx, cy = obj["c"] + obj["v"] * t
        angle = obj["angle"] + obj["spin"] * t
        axes = (int(obj["axes"][0] * (1 + 0.2 * math.sin(t / 9))), int(obj["axes"][1]))
        cv2.ellipse(labels, (int(cx), int(cy)), axes, angle, 0, 360, int(obj["id"]), -1)
        if obj["limb"]:
            cv2.rectangle(labels, (int(cx), int(cy)), (int(cx + 60), int(cy + 25)), int(obj["id"]), -1)
    return labels


def _imperfect(rng: np.random.Generator, gt: np.ndarray, k: int) -> np.ndarray:
    pred = np.zeros_like(gt)
    for obj in range(1, k + 1):
        mask = (gt == obj).astype(np.uint8)
        if rng.random() < 0.05:
            continue  # object lost in this frame
        size = int(rng.integers(1, 6))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
        dx, dy = rng.integers(-4, 5, size=2)
        mask = np.roll(mask, (int(dy), int(dx)), axis=(0, 1))
        pred[mask > 0] = obj
    for _ in range(int(rng.integers(0, 3))):  # spurious blobs
        cv2.circle(pred, (int(rng.integers(0, W)), int(rng.integers(0, H))), int(rng.integers(3, 15)),
                   int(rng.integers(0, k + 1)), -1)  # fmt: skip
    return pred


def build_dataset(root: Path, num_sequences: int, seed: int = 0) -> int:
    """Write DAVIS/ and results/ under root; returns the number of frames."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(45, 90, size=num_sequences)
    lengths = np.round(lengths * (2000 / max(lengths.sum(), 1) * num_sequences / 30)).astype(int)
    names = []
    for s, n in enumerate(lengths):
        name = f"seq{s:02d}"
        names.append(name)
        k = int(rng.integers(1, 6))
        objects = [
            {
                "id": i + 1,
                "c": rng.uniform([100, 80], [W - 100, H - 80]),
                "v": rng.uniform(-2, 2, size=2),
                "axes": rng.uniform([20, 15], [140, 90]),
                "angle": rng.uniform(0, 180),
                "spin": rng.uniform(-1, 1),
                "limb": bool(rng.random() < 0.5),
            }
            for i in range(k)
        ]
        for t in range(int(n)):
            gt = _draw(rng, objects, t)
            if rng.random() < 0.3:
                cv2.line(gt, (0, int(rng.integers(0, H))), (W - 1, int(rng.integers(0, H))), 255, 2)  # void
            _save(root / "DAVIS" / "Annotations" / "480p" / name / f"{t:05d}.png", gt)
            if 0 < t < n - 1:
                _save(
                    root / "results" / name / f"{t:05d}.png", _imperfect(rng, np.where(gt == 255, 0, gt), k)
                )
    sets = root / "DAVIS" / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "val.txt").write_text("".join(f"{n}\n" for n in names))
    return int(lengths.sum())


# ---- the three scorers, each as its users run it ----

VOS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from vos_benchmark.benchmark import benchmark
*_, per_video = benchmark([sys.argv[2]], [sys.argv[3]], num_processes=2, verbose=False)
json.dump({v: {str(k): [j[k], f[k]] for k in j} for v, (j, f) in per_video[0].items()}, open(sys.argv[4], "w"))
"""


def linked_copy(src: Path, dst: Path) -> Path:
    """A hard-linked copy of a results folder (the official script and vos-benchmark write into theirs)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def add_frame_listing(davis: Path) -> None:
    """The official toolkit lists frames from JPEGImages/480p (it never opens them): one empty .jpg each."""
    for seq in (davis / "Annotations" / "480p").iterdir():
        folder = davis / "JPEGImages" / "480p" / seq.name
        folder.mkdir(parents=True, exist_ok=True)
        for png in seq.glob("*.png"):
            (folder / f"{png.stem}.jpg").touch()


def timed(command: list[str], cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} ... failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def hodor_command() -> list[str]:
    script = Path(sys.executable).with_name("hodor")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hodor.cli"]


def run_ours(root: Path) -> float:
    return timed([*hodor_command(), "evaluate", "davis", "--davis-root", str(root / "DAVIS"), "--results",
                  str(root / "results"), "--output", str(root / "ours"), "--quiet"])  # fmt: skip


def run_official(root: Path, official: Path) -> float:
    results = linked_copy(root / "results", root / "official")  # fresh: it would reuse an old CSV
    return timed([sys.executable, str(official / "evaluation_method.py"), "--task", "semi-supervised",
                  "--davis_path", str(root / "DAVIS"), "--results_path", str(results)])  # fmt: skip


def run_vos(root: Path, package: Path) -> float:
    results = linked_copy(root / "results", root / "vos")
    return timed([sys.executable, "-c", VOS_SCRIPT, str(package), str(root / "DAVIS" / "Annotations" / "480p"),
                  str(results), str(root / "vos.json")])  # fmt: skip


# ---- identical numbers ----


def compare_with_official(root: Path) -> str:
    for name in ("global_results-val.csv", "per-sequence_results-val.csv"):
        if (root / "ours" / name).read_text() != (root / "official" / name).read_text():
            raise SystemExit(f"{name} differs between ours and the official toolkit")
    return "global and per-sequence CSVs byte-identical to the official script's"


def compare_with_vos(root: Path) -> str:
    ours = json.loads((root / "ours" / "metrics.json").read_text())["per_object"]
    theirs = json.loads((root / "vos.json").read_text())
    worst, void = 0.0, 0
    for video, objects in theirs.items():
        for obj, (j, f) in objects.items():
            if obj == "255":
                void += 1
                continue
            mine = ours[f"{video}_{obj}"]
            worst = max(worst, abs(mine["J-Mean"] - j / 100), abs(mine["F-Mean"] - f / 100))
    compared = sum(len(o) for o in theirs.values()) - void
    if compared != len(ours) or worst > 1e-9:
        raise SystemExit(f"vos-benchmark differs: {compared} of {len(ours)} objects, largest gap {worst:.1e}")
    return (f"per-object J/F equal to vos-benchmark's to {worst:.0e} ({compared} objects; its extra "
            f"'object 255' in {void} videos with void left out)")  # fmt: skip


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def race(root: Path, official: Path, vos: Path | None, repeat: int) -> dict[str, list[float]]:
    """Interleaved runs: (ours, vos-benchmark) before and after each official run."""
    times: dict[str, list[float]] = {"ours": [], "vos-benchmark": [], "official": []}
    fast = [("ours", lambda: run_ours(root))] + (
        [("vos-benchmark", lambda: run_vos(root, vos))] if vos else []
    )
    for index in range(repeat):
        for name, run in fast if index % 2 == 0 else fast[::-1]:
            times[name].append(run())
            print(f"  {name}: {times[name][-1]:.2f} s ({load()})", flush=True)
        if index == 0:
            times["official"].append(run_official(root, official))
            print(f"  official: {times['official'][-1]:.2f} s ({load()})", flush=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--official", type=Path, default=REPO.parent / "shared/reference/davis2017-evaluation",
                        help="davis2017-evaluation folder (holding evaluation_method.py)")  # fmt: skip
    parser.add_argument("--vos-benchmark", type=Path, help="folder holding the vos_benchmark package")
    parser.add_argument("--repeat", type=int, default=2, help="runs of ours and vos-benchmark (median)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the data set here instead of a temp dir")
    args = parser.parse_args()
    if not (args.official / "evaluation_method.py").is_file():
        raise SystemExit(f"no evaluation_method.py in {args.official}; pass --official DIR")
    vos = args.vos_benchmark
    if vos is None or not (vos / "vos_benchmark" / "benchmark.py").is_file():
        print("vos-benchmark skipped: install it with `pip install --no-deps --target /tmp/vos-benchmark "
              "vos-benchmark==0.1.0` and pass --vos-benchmark /tmp/vos-benchmark")  # fmt: skip
        vos = None
    root = args.keep or Path(tempfile.mkdtemp(prefix="hodor-davis-bench-"))
    try:
        if not (root / "DAVIS" / "ImageSets" / "2017" / "val.txt").exists():
            t0 = time.perf_counter()
            frames = build_dataset(root, args.sequences)
            print(
                f"built {args.sequences} sequences, {frames} frames of {W}x{H} in {time.perf_counter() - t0:.1f} s"
            )
        add_frame_listing(root / "DAVIS")
        for png in (root / "results").rglob("*.png"):
            png.read_bytes()  # every scorer then reads from the page cache
        print(f"race, {os.cpu_count()} CPUs, shared machine ({load()}):")
        times = race(root, args.official, vos, max(args.repeat, 1))
        print(compare_with_official(root))
        if vos:
            print(compare_with_vos(root))
        objects = len(json.loads((root / "ours" / "metrics.json").read_text())["per_object"])
        print(f"{args.sequences} sequences, {objects} objects; medians:")
        ours = float(np.median(times["ours"]))
        for name, values in times.items():
            if values:
                seconds = float(np.median(values))
                print(f"  {name:14s} {seconds:7.2f} s  ({', '.join(f'{v:.2f}' for v in values)})  "
                      f"ours is {seconds / ours:5.1f}x faster")  # fmt: skip
        print(f"end: {load()} (other users' processes slow every scorer)")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
