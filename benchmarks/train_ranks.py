"""One process with N threads against N processes (torchrun) with one thread each, for the pretrain stage.

    python benchmarks/train_ranks.py --workspace workspace [--params params.yaml] [--steps 24] [--rounds 2]
        [--nproc 2]

Runs ``stages/pretrain.py`` as the pipeline does, on a converted workspace (what ``dvc repro`` wrote), for
``--steps`` steps of the ``pretrain`` section of ``--params``, in fresh output folders: ``pretrain.
nproc_per_node: 1`` with ``OMP_NUM_THREADS=N`` against ``nproc_per_node: N`` (torchrun, one thread per
rank). Rounds alternate the order. Printed per run: the training loop's seconds (the stage's summary line)
and the whole stage's wall seconds (start-up, torchrun and imports included), the final loss of each
side, and the ratio of the medians. Why: the default profile picks the launch that is faster on 2 cores;
this measures it on the machine at hand (run it idle: both sides use every core).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"train static: (\d+) steps in ([\d.]+) s .*loss [\d.]+ -> ([\d.]+)")


def run_stage(
    params: dict, nproc: int, threads: int, workspace: Path, work: Path
) -> tuple[float, float, str]:
    """(loop seconds, stage wall seconds, final loss) of one pretrain stage run."""
    params = {**params, "pretrain": {**params["pretrain"], "nproc_per_node": nproc}}
    work.mkdir(parents=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cmd = [sys.executable, str(REPO / "stages/pretrain.py"), "--params", str(work / "params.yaml"),
           "--workspace", str(workspace), "--out", str(work / "ckpt"), "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    found = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"pretrain stage failed ({nproc} process(es)):\n{proc.stderr[-3000:]}")
    return float(found.group(2)), wall, found.group(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--nproc", type=int, default=2)
    args = parser.parse_args()
    params = yaml.safe_load(args.params.read_text())
    params["pretrain"].update(iterations=args.steps, save_interval=10 * args.steps)
    sides = {"1 process": (1, args.nproc), f"{args.nproc} ranks": (args.nproc, 1)}
    results: dict[str, list[tuple[float, float, str]]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for name in order:
                nproc, threads = sides[name]
                load = os.getloadavg()[0]
                loop, wall, loss = run_stage(params, nproc, threads, args.workspace.resolve(),
                                             Path(tmp) / f"{r}-{nproc}")  # fmt: skip
                results[name].append((loop, wall, loss))
                print(f"round {r}: {name:>10} x {threads} thread(s): loop {loop:6.1f} s, stage {wall:6.1f} s, "
                      f"final loss {loss} (load {load:.1f})")  # fmt: skip
    (one, many) = (results[name] for name in sides)
    loop_ratio = statistics.median(x[0] for x in one) / statistics.median(x[0] for x in many)
    wall_ratio = statistics.median(x[1] for x in one) / statistics.median(x[1] for x in many)
    print(
        f"{args.steps} pretraining steps: {args.nproc} ranks x 1 thread are {loop_ratio:.2f}x the loop speed "
        f"and {wall_ratio:.2f}x the stage speed of 1 process x {args.nproc} threads (medians of {args.rounds})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
