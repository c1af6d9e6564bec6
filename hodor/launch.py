"""How a stage runs on one machine: how many processes it starts through torchrun.

A params section may hold launch keys beside what it computes (``infer.nproc_per_node``,
``pretrain.nproc_per_node``, ``finetune.<regime>.nproc_per_node``). They are split off before the section
is built into its dataclass, so they never enter a run definition or a resume fingerprint: a training run
started with 2 processes resumes with 1, and an inference shared by 4 processes writes what 1 writes.

Why a stage starts torchrun itself instead of ``dvc.yaml`` naming torchrun: the stage command stays the
same for 1 and N processes, so ``dvc exp run -S pretrain.nproc_per_node=4`` works as typed, and one
process needs no rendezvous at all.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hodor.config import ParamsError, from_dict, to_dict

LAUNCH_KEYS = ("nproc_per_node",)


@dataclass(frozen=True)
class Launch:
    """nproc_per_node: processes started through torchrun on this machine (1 = no torchrun). One per GPU on
    a GPU machine; on a CPU, one per core (each with one torch thread) uses the cores better than one
    process with several threads: small operators scale poorly across threads."""

    nproc_per_node: int = 1

    def __post_init__(self) -> None:
        if self.nproc_per_node < 1:
            raise ValueError(f"nproc_per_node must be >= 1, got {self.nproc_per_node}")


def split_launch(section: Mapping[str, Any], source: str) -> tuple[dict[str, Any], Launch]:
    """``section`` without its launch keys, and the :class:`Launch` they give (absent: one process).

    ``source`` names the file and section in errors (``params.yaml [pretrain]``)."""
    if not isinstance(section, Mapping):
        raise ParamsError(f"{source}: expected a mapping of keys, got {section!r}")
    computed = {k: v for k, v in section.items() if k not in LAUNCH_KEYS}
    given = {k: section[k] for k in LAUNCH_KEYS if k in section}
    launch = from_dict(Launch, {**to_dict(Launch()), **given}, source=source)  # absent keys: the defaults
    return computed, launch


def torchrun_command(nproc_per_node: int, script: str | Path, argv: list[str]) -> list[str]:
    """``script argv`` under torchrun on this machine, with a local rendezvous on a free port
    (``--standalone``), so that parallel runs (tests, experiments) never collide on a port."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc_per_node}", str(script), *argv]  # fmt: skip


def torchrun_env(environ: Mapping[str, str], nproc_per_node: int, cpu_count: int | None) -> dict[str, str]:
    """The environment for the torchrun child: ``OMP_NUM_THREADS`` shares the cores among the processes
    (at least 1 each) unless the user set it. torchrun would set 1 and print a warning every run."""
    env = dict(environ)
    if "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (cpu_count or 1) // nproc_per_node))
    return env


def relaunch(
    launch: Launch, script: str | Path, argv: list[str], environ: Mapping[str, str], cpu_count: int | None
) -> int | None:
    """Start ``script argv`` under torchrun when ``launch`` asks for several processes and this process is
    not already one of torchrun's ranks (no ``LOCAL_RANK`` in ``environ``): returns torchrun's exit code.
    Returns None when this process should do the work itself."""
    if launch.nproc_per_node == 1 or "LOCAL_RANK" in environ:
        return None
    command = torchrun_command(launch.nproc_per_node, script, argv)
    env = torchrun_env(environ, launch.nproc_per_node, cpu_count)
    child = subprocess.Popen(command, env=env, preexec_fn=terminate_with_parent())
    return wait_forwarding_sigterm(child)


def terminate_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for the torchrun child (Linux; None elsewhere): the kernel sends the child SIGTERM
    when this process dies, even by SIGKILL (the OOM killer, ``kill -9``), so that no orphaned ranks go on
    writing checkpoints into the folder that the next run of the stage resumes from.

    Everything is looked up here, before the fork: between fork and exec the child may only call what is
    already loaded (an import there could wait forever for a lock held by a thread that was not copied)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the call: nobody would send the signal
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


def wait_forwarding_sigterm(child: subprocess.Popen) -> int:
    """Wait for ``child``; a SIGTERM sent to this process alone (``kill``, ``timeout``, a job manager) is
    passed on, so that torchrun stops its ranks (which write nothing half: checkpoints are atomic) instead
    of being orphaned with them. Ctrl-C reaches the whole foreground process group, torchrun included: this
    process then waits for it to end and returns 130, the shell's code for an interrupt."""
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def params_path_from(argv: list[str], default: str = "params.yaml") -> Path:
    """The ``--params`` value of a stage's command line, read before the stage imports torch, so that a
    stage that relaunches itself under torchrun does not pay that import once more in the parent."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--params", type=Path, default=Path(default))
    return parser.parse_known_args(argv)[0].params
