"""The ``hodor`` command: help lists every subcommand, bad input is one clear line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

from hodor.cli import SUBCOMMANDS, main


def test_help_lists_all_subcommands(capsys) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_console_script_is_installed() -> None:
    proc = subprocess.run([sys.executable, "-m", "hodor.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "synthesize" in proc.stdout
