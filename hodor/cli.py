"""The ``hodor`` command: one subcommand per capability.

Each subcommand lives next to its code in a module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their subcommand runs, so ``hodor --help`` and the
light subcommands (``evaluate``) do not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hodor.errors import InputError
from hodor.provenance import package_version

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synthesize": (
        "hodor.data.synthetic.cli",
        "write the synthetic raw COCO / DAVIS / YouTube-VOS workspace",
    ),
    "convert": ("hodor.convert.cli", "convert a raw dataset to the standardized HODOR JSON"),
    "train": ("hodor.train.cli", "train (static / sparse / dense), single process or under torchrun"),
    "infer": ("hodor.infer.cli", "propagate masks through a standardized-JSON video dataset"),
    "segment": ("hodor.infer.segment_cli", "segment your own video from a first-frame mask"),
    "evaluate": ("hodor.evaluate.cli", "J&F scoring for DAVIS and YouTube-VOS"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object | None]:
    parser = argparse.ArgumentParser(prog="hodor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hodor-vos {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    if module is None:
        parser.print_help()
        return 2
    try:
        return int(module.run(args) or 0)
    except InputError as err:
        print(f"hodor {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
