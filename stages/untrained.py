"""DVC stage ``untrained``: the model as pretraining initializes it, saved for the untrained baseline.

    python stages/untrained.py --params params.yaml --out workspace/checkpoints/untrained

Reads params ``model`` and the top-level ``seed``; writes ``<out>/final.pth``, which the inference stages
``infer@untrained-<dataset>`` run like any trained checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hodor.config import load_section
from hodor.errors import InputError
from hodor.model import ModelParams
from hodor.train.cli import read_seed
from hodor.train.untrained import save_untrained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder of final.pth")
    args = parser.parse_args(argv)
    try:
        model_params = load_section(ModelParams, args.params, "model")
        seed = read_seed(args.params)
        path = save_untrained(model_params, seed, args.out)
    except InputError as err:
        print(f"untrained: error: {err}", file=sys.stderr)
        return 2
    print(f"untrained: model {model_params.variant} initialized with seed {seed} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
