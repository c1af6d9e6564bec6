"""Paper scale, before and after issue 16, in one run: loading, training data, conversion, ``dvc status``.

    python benchmarks/paper_scale.py --work /tmp/paper_scale             # full size (heavy: ~3 GB disk)
    python benchmarks/paper_scale.py --work /tmp/ps --scale 0.05         # a quick run
    python benchmarks/paper_scale.py --work /tmp/ps --parts load,data    # some measurements only
    python benchmarks/paper_scale.py --work /tmp/ps --baseline none      # this tree only

Data (``benchmarks/paper_scale_data.py``) is written once into ``--work`` and reused by later runs with the
same ``--scale``. Every measurement runs in its own process, once per side: ``before`` is the pinned main
before issue 16 (:data:`BEFORE_COMMIT`, no paper-scale sampling; exported by ``benchmarks/baseline.py``) and
``after`` this tree, each first on the child's ``PYTHONPATH`` (the child says which ``hodor`` it imported).
Sides alternate, the order reversed every other round. One table is printed (and ``--json`` keeps the raw
figures):

* ``load``: seconds and peak RSS of loading each standardized JSON;
* ``data``: the paper profile's training data (profiles/paper.yaml ``pretrain``: COCO, 250,000 iterations,
  global batch 8, 2 samples per forward, 4 workers) for one rank of a 1-GPU run: seconds from process start
  to the first batch, and PSS of the rank and its 4 loader workers summed after ``--batches`` batches;
* ``throughput``: samples/s of one loader process with the paper's augmentations and sizes;
* ``convert``: converting a COCO-sized raw annotation file and the half-sized one (2 workers), ``--rounds``
  rounds for this tree (``--before-rounds`` for the baseline), interleaved: seconds, CPU seconds (user +
  sys of the converting processes, pool workers included: the driver is their subreaper and reaps them all),
  peak RSS of the process tree, and the pages read from disk meanwhile (system-wide: ~0 means the image
  reads came from the page cache); growth full / half per round (goal: 2x data costs <= 2.1x CPU);
* ``dvc``: ``dvc repro`` then ``dvc status`` twice over a stage depending on 120,000 small files, with the
  files in several places (``DVC_LAYOUTS``), and a check that a changed file is still noticed; DVC's own
  work, so it runs once, not per side;
* ``step``: one paper-model training step's time per sample on this machine (``benchmarks/train_step.py``
  at the paper's sample size), this tree only (the model's speed is issue 14's), beside the throughput:
  how many workers keep one step fed.
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
REPO = HERE.parent
START = time.perf_counter()
BATCHES = 200
STEP_SIZE = "480x640"  # HxW of one paper training sample (max_image_area 300,000, padded to /32)
PARTS = ("load", "data", "throughput", "convert", "dvc", "step")
#: main before issue 16 (no paper-scale sampling: 4d7299a came after it); also issue 14's speed baseline
BEFORE_COMMIT = "0d85a0a"
PR_SET_CHILD_SUBREAPER = 36


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
    batches = int(os.environ.get("PAPER_SCALE_BATCHES", BATCHES))
    stream = iter(loader)
    next(stream)
    first = time.perf_counter() - START
    for _ in range(batches - 1):
        next(stream)
    workers = children(os.getpid())
    pss = pss_kib(os.getpid()) + sum(pss_kib(p) for p in workers)
    return {"what": f"paper training data, 1 rank + {params.num_workers} workers", "first_batch_s": first,
            "pss_gib": pss / 2**20, "rank_pss_gib": pss_kib(os.getpid()) / 2**20, "processes": 1 + len(workers),
            "batches": batches, "seconds_rest": time.perf_counter() - START - first}  # fmt: skip


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


def cpu_self_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_convert(work: Path) -> dict:
    """One conversion; ``startup_cpu_s`` (interpreter and imports) is what the driver subtracts from the
    process tree's CPU seconds to get the conversion's own."""
    try:
        from hodor.convert.run import convert_to_file
    except ImportError:  # before the hodor/convert package
        from hodor.data.convert import convert_to_file

    ann = os.environ["PAPER_SCALE_ANN"]
    coco = work / "raw" / "coco"
    startup, start = cpu_self_s(), time.perf_counter()
    summary = convert_to_file("coco_2017_train", coco, work / f"converted_{ann}", workers=2,
                              progress=False, annotations=coco / "annotations" / ann)  # fmt: skip
    return {"what": f"convert COCO {ann} ({summary.records} images, {summary.objects} objects)",
            "seconds": time.perf_counter() - start, "images": summary.frames, "startup_cpu_s": startup,
            "parent_cpu_s": cpu_self_s() - startup}  # fmt: skip


# layout -> (repo folder under --work, the stages' dependency, how many stages depend on it; "{raw}" is
# work/dvc/raw, the 120,000 files). Two stages on one tree: DVC walks and looks up every file once per
# dependency entry (measured: no sharing between stages, nor within a stage listing a folder twice).
DVC_LAYOUTS = {
    "raw tree in the repo, not git-ignored": ("dvc", "raw", 1),
    "raw tree under git-ignored data/ (the project's layout)": ("dvc_data", "data/raw", 1),
    "raw tree outside the repo (absolute root)": ("dvc_ext", "{raw}", 1),
    "raw tree outside the repo, a dependency of 2 stages": ("dvc_ext2", "{raw}", 2),
}


def dvc_repo(work: Path, folder: str, dep: str, stages: int, env: dict[str, str]) -> Path:
    """A git + DVC repo with ``stages`` stages depending on the raw tree as ``dep`` (made once, reused)."""
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
    text = "stages:\n"
    for k in range(stages):
        text += f"  convert{k}:\n    cmd: ls {dep} | wc -l > count{k}.txt\n    deps: [{dep}]\n    outs: [count{k}.txt]\n"
    (repo / "dvc.yaml").write_text(text)
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
    for layout, (folder, dep, stages) in DVC_LAYOUTS.items():
        repo = dvc_repo(work, folder, dep, stages, env)
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
def become_subreaper() -> None:
    """Orphaned descendants (the conversion pool's forkserver outlives its parent by a moment) are
    re-parented to this process, so reaping them adds their CPU time, and their workers', to ours."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(
            ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed: CPU seconds would miss workers"
        )


def reap_all(timeout: float = 120.0) -> None:
    """Wait for every remaining descendant (re-parented here) to exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)
    raise RuntimeError(f"descendants still running {timeout:.0f} s after the measurement ended")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pgpgin_kib() -> int:
    """KiB read from block devices since boot, all processes (/proc/vmstat)."""
    with open("/proc/vmstat") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("pgpgin "))


def run_child(part: str, work: Path, env: dict[str, str], code: Path) -> dict:
    """One measurement in a fresh process with ``code`` first on PYTHONPATH, under a tree monitor; its JSON
    line plus the tree's peak RSS, CPU seconds of the whole tree (every descendant reaped), disk reads."""
    cmd = [sys.executable, __file__, "--work", str(work), "--child", part]
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(code), str(HERE)])}
    load, cpu0, disk0, start = os.getloadavg()[0], children_cpu_s(), pgpgin_kib(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env)
    monitor = TreeMonitor(proc.pid)
    monitor.start()
    out, err = proc.communicate()
    monitor.stop.set()
    monitor.join()
    reap_all()
    if proc.returncode != 0:
        raise RuntimeError(f"{part} ({code}) failed:\n{err[-4000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if not Path(result["hodor"]).resolve().is_relative_to(code.resolve()):
        raise RuntimeError(f"{part}: the child imported {result['hodor']}, not the code under {code}")
    result.update(tree_peak_rss_gib=monitor.peak_rss_kib / 2**20, tree_cpu_s=children_cpu_s() - cpu0,
                  disk_read_mib=(pgpgin_kib() - disk0) / 1024, wall_s=time.perf_counter() - start, load=load)  # fmt: skip
    return result


def rounds(sides: dict[str, Path], n: int) -> list[tuple[str, Path]]:
    """``n`` rounds over the sides, the order reversed every other round."""
    order = list(sides.items())
    return [item for r in range(n) for item in (order if r % 2 == 0 else order[::-1])]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(values: list[float], fmt: str = ".2f") -> str:
    """'median (min-max, n)' of a list of figures."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}}, n={len(values)})"


class Table:
    """Rows of ``measurement | before | after | note``; a side's cell is filled as its figure arrives."""

    def __init__(self, sides: list[str]) -> None:
        self.sides, self.rows = sides, {}

    def put(self, row: str, side: str, cell: str, note: str = "") -> None:
        cells = self.rows.setdefault(row, {"note": ""})
        cells[side] = cell
        cells["note"] = note or cells["note"]

    def lines(self) -> list[str]:
        out = [
            "| measurement | " + " | ".join(self.sides) + " | note |",
            "|---" * (len(self.sides) + 2) + "|",
        ]
        for row, cells in self.rows.items():
            out.append(
                f"| {row} | " + " | ".join(cells.get(s, "-") for s in self.sides) + f" | {cells['note']} |"
            )
        return out


def part_load(table: Table, work: Path, sides: dict[str, Path], log: list) -> None:
    for name in ("coco_2017_train", "youtube_vos_2019_train", "davis_train"):
        for side, code in rounds(sides, 1):
            r = run_child("load", work, {"PAPER_SCALE_JSON": name}, code)
            log.append({"part": "load", "side": side, **r})
            table.put(r["what"], side, f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_gib']:.2f} GiB",
                      f"load {r['load']:.1f}")  # fmt: skip


def part_data(table: Table, work: Path, sides: dict[str, Path], log: list, batches: int) -> None:
    for side, code in rounds(sides, 1):
        r = run_child("data", work, {"PAPER_SCALE_BATCHES": str(batches)}, code)
        log.append({"part": "data", "side": side, **r})
        table.put("paper training data, 1 rank + 4 workers: first batch after start", side,
                  f"{r['first_batch_s']:.1f} s", "goal <= 60 s")  # fmt: skip
        table.put(f"PSS of the rank + its workers after {r['batches']} batches", side,
                  f"{r['pss_gib']:.2f} GiB (rank {r['rank_pss_gib']:.2f}, {r['processes']} processes; "
                  f"{r['seconds_rest']:.0f} s for the batches)", f"goal <= 3 GiB; load {r['load']:.1f}")  # fmt: skip


def part_throughput(table: Table, work: Path, sides: dict[str, Path], log: list) -> None:
    for side, code in rounds(sides, 1):
        r = run_child("throughput", work, {}, code)
        log.append({"part": "throughput", "side": side, **r})
        table.put("loader: samples/s of one worker (paper augmentations and sizes, 1 thread)", side,
                  f"{r['samples_per_s_per_worker']:.2f}", f"load {r['load']:.1f}")  # fmt: skip


def part_convert(table: Table, work: Path, sides: dict[str, Path], log: list, n: int, n_before: int) -> None:
    """Half and full file per side and round; the side order and the half/full order alternate."""
    runs: dict[str, list[dict[str, dict]]] = {side: [] for side in sides}
    for r, (side, code) in enumerate(rounds(sides, n)):
        if side == "before" and len(runs[side]) >= n_before:
            continue
        anns = ("instances_half.json", "instances_train2017.json")
        pair = {}
        for ann in anns if r % 2 == 0 else anns[::-1]:
            res = run_child("convert", work, {"PAPER_SCALE_ANN": ann}, code)
            res["convert_cpu_s"] = res["tree_cpu_s"] - res["startup_cpu_s"]
            log.append({"part": "convert", "side": side, **res})
            pair["half" if ann == "instances_half.json" else "full"] = res
        runs[side].append(pair)
    for side, pairs in runs.items():
        for size in ("half", "full"):
            rs = [p[size] for p in pairs]
            table.put(f"convert COCO, {size} ({rs[0]['what'].split('(')[1].rstrip(')')}): wall s / CPU s / "
                      "tree peak RSS / disk read", side,
                      f"{spread([x['seconds'] for x in rs], '.0f')} s / {spread([x['convert_cpu_s'] for x in rs], '.0f')} s"
                      f" / {max(x['tree_peak_rss_gib'] for x in rs):.2f} GiB / {max(x['disk_read_mib'] for x in rs):.0f} MiB",
                      "goal full <= 10 min, < 4 GiB; disk read: all processes on the machine")  # fmt: skip
        cpu = [p["full"]["convert_cpu_s"] / p["half"]["convert_cpu_s"] for p in pairs]
        wall = [p["full"]["seconds"] / p["half"]["seconds"] for p in pairs]
        table.put(
            "conversion growth, 2x data: CPU x (median, min-max, rounds)", side, spread(cpu), "goal <= 2.1"
        )
        table.put("conversion growth, 2x data: wall x", side, spread(wall), "")


def part_dvc(table: Table, work: Path, sides: dict[str, Path], log: list) -> None:
    side, code = list(sides.items())[-1]
    r = run_child("dvc", work, {}, code)
    log.append({"part": "dvc", "side": "both", **r})
    for row in r["layouts"]:
        cell = f"{row['status1_s']:.1f} s / {row['status2_s']:.1f} s (CPU {row['status2_cpu_s']:.1f} s)"
        for s in sides:
            table.put(f"dvc status over {row['files']} files, 1st / 2nd call: {row['layout']}", s, cell,
                      f"DVC's work (run once); repro -f {row['repro_s']:.0f} s; change noticed: "
                      f"{row['change_noticed']}; load {row['load']:.1f}; goal 2nd <= 10 s")  # fmt: skip


def part_step(table: Table, work: Path, sides: dict[str, Path], log: list) -> None:
    side, code = list(sides.items())[-1]
    r = run_child("step", work, {}, code)
    log.append({"part": "step", "side": side, **r})
    table.put(f"paper model: one train step per sample ({STEP_SIZE}, 3 frames, CPU fp32, 2 threads)", side,
              f"{r['train_step_s_per_sample']:.1f} s", f"this tree only; load {r['load']:.1f}")  # fmt: skip


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


def code_sides(baseline: str) -> dict[str, Path]:
    """{"before": the baseline export, "after": this tree}, or this tree alone (``--baseline none``)."""
    if baseline == "none":
        return {"after": REPO}
    from baseline import baseline_checkout

    return {"before": baseline_checkout(baseline), "after": REPO}


def child_main(part: str, work: Path) -> int:
    import hodor

    print(json.dumps({**MEASURES[part](work), "hodor": hodor.__file__}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the data (reused across runs)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real datasets' counts")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--baseline", default=BEFORE_COMMIT, help="commit of the 'before' side, or none")
    parser.add_argument("--batches", type=int, default=BATCHES, help="forward batches of the data part")
    parser.add_argument("--rounds", type=int, default=3, help="conversion rounds of this tree")
    parser.add_argument("--before-rounds", type=int, default=1, help="conversion rounds of the baseline")
    parser.add_argument("--json", type=Path, help="write every child's raw figures here")
    parser.add_argument("--child", choices=PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child, args.work)
    parts = args.parts.split(",")
    if unknown := set(parts) - set(PARTS):
        parser.error(f"--parts: unknown {sorted(unknown)}; choose from {PARTS}")
    become_subreaper()
    ensure_data(args.work, args.scale)
    sides = code_sides(args.baseline)
    names = {"before": f"before ({args.baseline})", "after": "after (this tree)"}
    print(f"scale {args.scale}; sides {sides}; load before: {os.getloadavg()}", flush=True)
    table, log = Table(list(sides)), []
    for part in parts:
        if part == "load":
            part_load(table, args.work, sides, log)
        elif part == "data":
            part_data(table, args.work, sides, log, args.batches)
        elif part == "throughput":
            part_throughput(table, args.work, sides, log)
        elif part == "convert":
            part_convert(table, args.work, sides, log, args.rounds, args.before_rounds)
        elif part == "dvc":
            part_dvc(table, args.work, sides, log)
        else:
            part_step(table, args.work, sides, log)
        print(f"{part} done {time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f}", flush=True)
        print("\n".join(table.lines()), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"scale": args.scale, "sides": {k: str(v) for k, v in sides.items()},
                                             "runs": log}, indent=1))  # fmt: skip
    print(f"load after: {os.getloadavg()}")
    header = table.lines()
    header[0] = "| measurement | " + " | ".join(names[s] for s in sides) + " | note |"
    print("\n".join(header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
