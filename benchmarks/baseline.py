"""The pinned baseline (today's main) beside the current code: a checkout and subprocess helpers.

The benchmarks compare the current tree with the package as it was at :data:`BASELINE_COMMIT`, in the
same run: the baseline's ``hodor/`` is exported once (``git archive``, nothing registered in the
repository) to ``/tmp/hodor-baseline-<commit>``, and each side runs in its own child process whose
``PYTHONPATH`` points at that export or at this repository. No old code path lives in the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Today's main when issue 14 was filed (the speed baseline of benchmarks/inference_fps.py, train_step.py).
BASELINE_COMMIT = "0d85a0a"


def baseline_checkout(commit: str = BASELINE_COMMIT, root: Path | None = None) -> Path:
    """Directory holding ``hodor/`` at ``commit`` (exported on first use, reused after)."""
    root = root or Path(tempfile.gettempdir())
    target = root / f"hodor-baseline-{commit}"
    done = target / ".exported"
    if done.exists():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f"hodor-baseline-{commit}-", dir=root))
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit, "hodor"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or b""
        raise SystemExit(
            f"cannot export baseline {commit} from {REPO} with git archive: {err} {detail.decode()[-500:]}\n"
            "fix: run from a git clone that has this commit, or pass --baseline none"
        ) from err
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    (tmp / ".exported").write_text(commit + "\n")
    try:
        tmp.rename(target)  # atomic: a concurrent run either sees the whole export or none
    except OSError:
        if not done.exists():
            raise
    return target


def load_average() -> float:
    """The 1-minute load average (the machine is shared: printed beside every timed run)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def interleaved(sides: dict[str, Path], repeats: int) -> list[tuple[str, Path]]:
    """``repeats`` rounds over the sides, the order reversed every other round (baseline, current, current,
    baseline, ...) so a load drift during the run does not favour one side."""
    order = list(sides.items())
    return [item for r in range(repeats) for item in (order if r % 2 == 0 else order[::-1])]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run_child(script: Path, code_dir: Path, args: list[str], threads: int) -> dict:
    """Run ``script --child ...`` with ``code_dir`` first on PYTHONPATH; its last stdout line is JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code_dir), str(script.parent)])}
    env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run(
        [sys.executable, str(script), "--child", *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"{script.name} child ({code_dir}) failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "hodor" in result and not Path(result["hodor"]).resolve().is_relative_to(code_dir.resolve()):
        raise SystemExit(f"child imported {result['hodor']}, not the code under {code_dir}")
    return result


if __name__ == "__main__":
    print(baseline_checkout())
