"""Paper scale: loading, training data, conversion and ``dvc status`` at the size of COCO and YouTube-VOS.

    python benchmarks/paper_scale.py --work /tmp/paper_scale             # full size (heavy: ~3 GB disk)
    python benchmarks/paper_scale.py --work /tmp/ps --scale 0.05         # a quick run
    python benchmarks/paper_scale.py --work /tmp/ps --parts load,data    # some measurements only

Data (``benchmarks/paper_scale_data.py``) is written once into ``--work`` and reused by later runs with the
same ``--scale``. Every measurement runs in its own process and prints one JSON line; this script prints
one table:

* ``load``: seconds and peak RSS of loading each standardized JSON;
* ``data``: the paper profile's training data (profiles/paper.yaml ``pretrain``: COCO, 250,000 iterations,
  global batch 8, 2 samples per forward, 4 workers) for one rank of a 1-GPU run: seconds from process start
  to the first batch, and PSS of the rank and its 4 loader workers summed after 200 forward batches;
* ``throughput``: samples/s of one loader process with the paper's augmentations and sizes; ``step``: one
  paper-model training step's time per sample on this machine (``benchmarks/train_step.py`` at the paper's
  sample size), beside it: how many samples/s one step consumes, so how many workers keep it fed;
* ``convert``: converting a COCO-sized raw annotation file (2 workers): seconds, CPU seconds and peak RSS
  of the process tree; and the half-sized file, for the growth ratio (2x data must cost <= 2.1x CPU);
* ``dvc``: ``dvc repro`` then ``dvc status`` twice over a stage depending on 120,000 small files, with the
  files in three places (``DVC_LAYOUTS``), and a check that a changed file is still noticed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = time.perf_counter()
BATCHES = 200
STEP_SIZE = "480x640"  # HxW of one paper training sample (max_image_area 300,000, padded to /32)
PARTS = ("load", "data", "throughput", "step", "convert", "dvc")


# ------------------------------------------------------------------------------------ process memory
def pss_kib(pid: int) -> int:
    """Proportional set size of one process (shared pages split between their users)."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))


def children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


class TreeMonitor(threading.Thread):
    """Samples a process tree every 0.2 s: peak of the summed RSS, CPU seconds (last seen per pid)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_rss_kib, self.cpu = pid, 0, {}
        self.stop = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stop.wait(0.2):
            total = 0
            try:
                pids = [self.pid, *descendants(self.pid)]
            except OSError:
                continue
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024  # rss pages
            self.peak_rss_kib = max(self.peak_rss_kib, total)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ------------------------------------------------------------------------------------ measurements
def measure_load(work: Path) -> dict:
    from hodor.data.standard_json import load_image_dataset, load_video_dataset

    name = os.environ["PAPER_SCALE_JSON"]
    path = work / "ws" / "dataset_json_annotations" / f"{name}.json"
    before = peak_rss_gib()
    start = time.perf_counter()
    load = load_image_dataset if name == "coco_2017_train" else load_video_dataset
    load(path, work / "ws" / "dataset_images" / name)
    return {"what": f"load {name} ({path.stat().st_size / 2**20:.0f} MB)", "seconds": time.perf_counter() - start,
            "peak_rss_gib": peak_rss_gib(), "rss_before_gib": before}  # fmt: skip


def paper_data(work: Path):
    """(paper static params, the rank's dataset, its batch indices) exactly as hodor.train.run builds them."""
    import torch

    from hodor.train.distributed import DistContext
    from hodor.train.params import PAPER_STATIC
    from hodor.train.run import build_batches, rank_batch_indices

    torch.set_num_threads(1)
    params = PAPER_STATIC
    data = build_batches("static", work / "ws", params, seed=42, world_size=1)
    indices = rank_batch_indices(0, params.iterations, params.accumulation(1), DistContext())
    return params, data, indices


def measure_data(work: Path) -> dict:
    from torch.utils.data import DataLoader

    params, data, indices = paper_data(work)
    try:  # the loader settings of hodor.train.run (absent in older code)
        from hodor.data.train_samples_loader import fork_friendly, worker_init
    except ImportError:
        fork_friendly, worker_init = None, None
    if fork_friendly is not None:
        fork_friendly().__enter__()
    try:  # the exact loader of hodor.train.run (absent before issue 16's fork fix)
        from hodor.data.train_samples_loader import training_loader

        loader = training_loader(data, indices, params.num_workers)
    except ImportError:
        loader = DataLoader(data, batch_size=None, sampler=indices, num_workers=params.num_workers,
                            worker_init_fn=worker_init)  # fmt: skip
    stream = iter(loader)
    next(stream)
    first = time.perf_counter() - START
    for _ in range(BATCHES - 1):
        next(stream)
    workers = children(os.getpid())
    pss = pss_kib(os.getpid()) + sum(pss_kib(p) for p in workers)
    return {"what": f"paper training data, 1 rank + {params.num_workers} workers", "first_batch_s": first,
            "pss_gib": pss / 2**20, "rank_pss_gib": pss_kib(os.getpid()) / 2**20, "processes": 1 + len(workers),
            "seconds_200": time.perf_counter() - START - first}  # fmt: skip


def measure_throughput(work: Path) -> dict:
    import cv2

    cv2.setNumThreads(1)
    params, data, indices = paper_data(work)
    data[indices[0]]  # warm-up (imports, first file reads)
    n, start = 0, time.perf_counter()
    for i in indices[1:16]:
        n += len(data[i]["labels"])
    return {"what": "loader throughput", "samples_per_s_per_worker": n / (time.perf_counter() - start)}


def measure_step(work: Path) -> dict:
    """One paper-model training step on this machine at the paper's sample size (benchmarks/train_step.py:
    480x640, the padded size of a 300,000 px COCO sample; 3 frames, 4 objects; 1 sample per forward, CPU
    fp32, 2 threads; one untimed warm-up step first)."""
    out = work / "train_step.json"
    subprocess.run([sys.executable, str(HERE / "train_step.py"), "--baseline", "none", "--steps", "1",
                    "--size", STEP_SIZE, "--batch", "1", "--objects", "4", "--device", "cpu", "--amp", "fp32",
                    "--threads", "2", "--json", str(out)], capture_output=True, text=True, check=True)  # fmt: skip
    step_s = json.loads(out.read_text())["s_per_step"]["current fp32"]
    return {"what": "paper train step", "train_step_s_per_sample": step_s, "load": os.getloadavg()[0]}


def measure_convert(work: Path) -> dict:
    from hodor.convert.run import convert_to_file

    ann = os.environ["PAPER_SCALE_ANN"]
    coco = work / "raw" / "coco"
    start = time.perf_counter()
    summary = convert_to_file("coco_2017_train", coco, work / f"converted_{ann}.json", workers=2,
                              progress=False, annotations=coco / "annotations" / ann)  # fmt: skip
    return {"what": f"convert COCO {ann} ({summary.records} images, {summary.objects} objects)",
            "seconds": time.perf_counter() - start, "images": summary.frames}  # fmt: skip


# layout -> (repo folder under --work, the stage's dependency; "{raw}" is work/dvc/raw, the 120,000 files)
DVC_LAYOUTS = {
    "raw tree in the repo, not git-ignored": ("dvc", "raw"),
    "raw tree under git-ignored data/ (the project's layout)": ("dvc_data", "data/raw"),
    "raw tree outside the repo (absolute root)": ("dvc_ext", "{raw}"),
}


def dvc_repo(work: Path, folder: str, dep: str, env: dict[str, str]) -> Path:
    """A git + DVC repo with one stage depending on the raw tree as ``dep`` (made once, reused)."""
    repo, raw = work / folder, work / "dvc" / "raw"
    if not (repo / ".dvc").exists():
        repo.mkdir(exist_ok=True)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["dvc", "init", "-q"], cwd=repo, env=env, check=True)
        if dep.startswith("data/"):  # hard links: the same files at another path (the state is per path)
            (repo / "data").mkdir()
            subprocess.run(["cp", "-al", str(raw), str(repo / dep)], check=True)
            (repo / ".gitignore").write_text("/data/\n")
    dep = dep.format(raw=raw)
    (repo / "dvc.yaml").write_text(
        f"stages:\n  convert:\n    cmd: ls {dep} | wc -l > count.txt\n    deps: [{dep}]\n    outs: [count.txt]\n"
    )
    return repo


def measure_dvc(work: Path) -> dict:
    """Per layout: ``dvc repro -f`` (hashes on the first run only), ``dvc status`` twice; then one file's
    content is changed, ``dvc status`` must report the stage, and the file is restored."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    cpu: dict[str, float] = {}

    def dvc(repo: Path, *args: str, key: str = "") -> tuple[float, str]:
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(["dvc", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[key] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return time.perf_counter() - start, out.stdout

    rows = []
    for layout, (folder, dep) in DVC_LAYOUTS.items():
        repo = dvc_repo(work, folder, dep, env)
        raw = repo / dep if not dep.startswith("{") else work / "dvc" / "raw"
        load = os.getloadavg()[0]
        repro = dvc(repo, "repro", "-f")[0]
        first, second = dvc(repo, "status")[0], dvc(repo, "status", key="status2")[0]
        victim = raw / sorted(os.listdir(raw))[len(os.listdir(raw)) // 2]
        original = victim.read_bytes()
        victim.write_bytes(original + b"changed")
        try:
            noticed = "changed deps" in dvc(repo, "status")[1]
        finally:
            victim.write_bytes(original)
        rows.append({"layout": layout, "files": len(os.listdir(raw)), "repro_s": repro, "status1_s": first,
                     "status2_s": second, "status2_cpu_s": cpu["status2"], "change_noticed": noticed,
                     "load": load})  # fmt: skip
    return {"what": "dvc status", "layouts": rows}


MEASURES = {"load": measure_load, "data": measure_data, "throughput": measure_throughput, "step": measure_step,
            "convert": measure_convert, "dvc": measure_dvc}  # fmt: skip


# ------------------------------------------------------------------------------------ driver
def run_child(part: str, work: Path, env: dict[str, str]) -> dict:
    """Run one measurement in a fresh process under a tree monitor; its JSON line plus tree figures."""
    cmd = [sys.executable, __file__, "--work", str(work), "--child", part]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})  # fmt: skip
    monitor = TreeMonitor(proc.pid)
    monitor.start()
    out, err = proc.communicate()
    monitor.stop.set()
    monitor.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{part} failed:\n{err[-4000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_rss_gib"] = monitor.peak_rss_kib / 2**20
    result["tree_cpu_s"] = sum(monitor.cpu.values())
    return result


def rows_for(part: str, work: Path) -> list[str]:
    if part == "load":
        names = ("coco_2017_train", "youtube_vos_2019_train", "davis_train")
        rs = [run_child("load", work, {"PAPER_SCALE_JSON": n}) for n in names]
        return [f"| {r['what']} | {r['seconds']:.1f} s | peak RSS {r['peak_rss_gib']:.2f} GiB |" for r in rs]
    if part == "data":
        r = run_child("data", work, {})
        return [f"| {r['what']}: first batch | {r['first_batch_s']:.1f} s | |",
                f"| {r['what']}: PSS after {BATCHES} batches ({r['processes']} processes) | "
                f"{r['seconds_200']:.0f} s for {BATCHES} | PSS {r['pss_gib']:.2f} GiB (rank {r['rank_pss_gib']:.2f}) |"]  # fmt: skip
    if part == "throughput":
        r = run_child("throughput", work, {})
        return [f"| loader: samples/s per worker (paper augmentations and sizes, 1 thread) | "
                f"{r['samples_per_s_per_worker']:.2f} | |"]  # fmt: skip
    if part == "step":
        r = run_child("step", work, {})
        return [f"| paper model: one train step per sample ({STEP_SIZE}, 3 frames, CPU fp32, 2 threads) | "
                f"{r['train_step_s_per_sample']:.1f} s | load {r['load']:.1f}; a GPU step is far faster |"]  # fmt: skip
    if part == "convert":
        rs = [run_child("convert", work, {"PAPER_SCALE_ANN": a})
              for a in ("instances_half.json", "instances_train2017.json")]  # fmt: skip
        ratio = rs[1]["tree_cpu_s"] / max(rs[0]["tree_cpu_s"], 1e-9)
        rows = [f"| {r['what']} | {r['seconds']:.0f} s, CPU {r['tree_cpu_s']:.0f} s | "
                f"peak RSS (tree) {r['tree_peak_rss_gib']:.2f} GiB |" for r in rs]  # fmt: skip
        return rows + [f"| conversion growth: 2x data -> CPU time x | {ratio:.2f} | goal <= 2.1 |"]
    rows = []
    for r in run_child("dvc", work, {})["layouts"]:
        rows += [f"| dvc over {r['files']} files, {r['layout']}: repro -f / status 1st / 2nd call | "
                 f"{r['repro_s']:.1f} s / {r['status1_s']:.1f} s / {r['status2_s']:.1f} s "
                 f"(2nd: CPU {r['status2_cpu_s']:.1f} s) | "
                 f"a changed file is noticed: {r['change_noticed']}; load {r['load']:.1f} |"]  # fmt: skip
    return rows


def ensure_data(work: Path, scale: float) -> None:
    marker = work / "made.json"
    if marker.exists() and json.loads(marker.read_text())["scale"] == scale:
        return
    if marker.exists() or (work / "ws").exists():
        raise SystemExit(
            f"{work} holds data of another scale (or a partial run): remove it or pick another --work"
        )
    sys.path.insert(0, str(HERE))
    from paper_scale_data import make_all

    start = time.perf_counter()
    counts = make_all(work, scale)
    print(f"wrote the data in {time.perf_counter() - start:.0f} s: {counts}", flush=True)
    marker.write_text(json.dumps({"scale": scale, "counts": counts}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the data (reused across runs)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real datasets' counts")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--child", choices=PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(MEASURES[args.child](args.work)))
        return 0
    ensure_data(args.work, args.scale)
    print(f"scale {args.scale}; load before: {os.getloadavg()}", flush=True)
    rows = ["| measurement | value | memory / note |", "|---|---|---|"]
    for part in args.parts.split(","):
        rows += rows_for(part, args.work)
        print(rows[-1], flush=True)
    print(f"load after: {os.getloadavg()}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
