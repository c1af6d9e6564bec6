#!/usr/bin/env bash
# The package as a user gets it: build the wheel (python -m build), install it WITHOUT -e and without any
# extra into a clean venv (dependencies from the lock), then, from a folder outside the checkout, run
#   hodor --help, hodor --version, hodor evaluate davis (a generated DAVIS-layout set: predictions = ground
#   truth, so J&F must be exactly 1), hodor segment (a generated clip + first-frame mask, random quick
#   checkpoint made with the installed package).
# Also checks that the core install has no DVC, dvclive or matplotlib. Not run in CI (it reinstalls torch).
#
#   scripts/wheel_check.sh            (or: make wheel-check)
# Env: PYTHON (default python3), LOCK (default requirements/lock-py311.txt), WHEEL_ROOT (default /tmp/hodor-wheel).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
LOCK="$(cd "$REPO" && realpath "${LOCK:-requirements/lock-py311.txt}")"
ROOT="${WHEEL_ROOT:-/tmp/hodor-wheel}"
rm -rf "$ROOT"
mkdir -p "$ROOT/src" "$ROOT/run"
trap 'rm -rf "$ROOT/buildenv" "$ROOT/venv" "$ROOT/src"' EXIT
step() { echo "== $* ($SECONDS s)"; }

# A copy of the working tree (tracked + untracked, not ignored), so the build writes nothing in the checkout.
git -C "$REPO" ls-files -z -co --exclude-standard | tar -C "$REPO" --null -T - -cf - | tar -C "$ROOT/src" -xf -

step "build (sdist, then the wheel from the sdist)"
"$PYTHON" -m venv "$ROOT/buildenv"
"$ROOT/buildenv/bin/python" -m pip install --quiet -c "$LOCK" build
"$ROOT/buildenv/bin/python" -m build --outdir "$ROOT/dist" "$ROOT/src" > "$ROOT/build.log"
wheel=$(ls "$ROOT"/dist/hodor_vos-*.whl)
echo "$(basename "$wheel"): $(du -h "$wheel" | cut -f1), $(unzip -l "$wheel" | tail -1 | awk '{print $2}') files"

step "install the wheel (core only, deps from the lock) into a clean venv"
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet -c "$LOCK" "$wheel"
echo "venv: $(du -sh "$ROOT/venv" | cut -f1)"
for absent in dvc dvclive matplotlib imgviz skimage; do  # -I: not the checkout's dvclive/ folder
    if "$ROOT/venv/bin/python" -I -c "import $absent" 2>/dev/null; then
        echo "FAIL: the core install brought $absent" >&2
        exit 1
    fi
done

cd "$ROOT/run"  # outside the checkout: nothing may read a file only a checkout has
export PATH="$ROOT/venv/bin:$PATH"
[ "$(command -v hodor)" = "$ROOT/venv/bin/hodor" ]
"$ROOT/venv/bin/python" -c 'import hodor, sys; sys.exit(0 if "site-packages" in hodor.__file__ else 1)'

step "hodor --help / --version"
hodor --help > help.txt || [ $? -eq 2 ]  # no subcommand: help and exit code 2
grep -q "segment" help.txt
version=$(hodor --version)
expected=$("$ROOT/venv/bin/python" -c 'from importlib.metadata import version; print(version("hodor-vos"))')
[ "$version" = "hodor-vos $expected" ] || { echo "FAIL: hodor --version printed '$version'" >&2; exit 1; }
echo "$version"

step "generate a DAVIS-layout set, a clip, a first-frame mask and a random quick checkpoint"
python - <<'EOF'
from pathlib import Path

import cv2
import numpy as np
import torch

from hodor.config import to_dict
from hodor.data.palette import write_label_png
from hodor.model import ModelParams, build_model

rng = np.random.default_rng(0)
h, w = 48, 64
for seq, n in (("bear", 5), ("car", 4)):
    for t in range(n):
        labels = np.zeros((h, w), np.uint8)
        labels[8:24, 4 + 3 * t : 20 + 3 * t] = 1
        labels[28:44, 40 - 2 * t : 56 - 2 * t] = 2
        write_label_png(Path(f"DAVIS/Annotations/480p/{seq}/{t:05d}.png"), labels)
        if 0 < t < n - 1:  # predictions of frames 1..n-2, as the official toolkit expects
            write_label_png(Path(f"results/{seq}/{t:05d}.png"), labels)
Path("DAVIS/ImageSets/2017").mkdir(parents=True)
Path("DAVIS/ImageSets/2017/val.txt").write_text("bear\ncar\n")

base = cv2.GaussianBlur(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), (7, 7), 0)
Path("clip").mkdir()
for t in range(4):
    frame = base.copy()
    frame[10:40, 10 + 3 * t : 40 + 3 * t] = (40, 200, 240)
    cv2.imwrite(f"clip/{t:05d}.jpg", frame)
mask = np.zeros((64, 96), np.uint8)
mask[10:40, 10:40] = 1
write_label_png(Path("mask.png"), mask)

torch.manual_seed(0)
params = ModelParams(variant="quick")
torch.save({"model": build_model(params).state_dict(), "hodor": {"model_params": to_dict(params)}}, "quick.pth")
EOF

step "hodor evaluate davis"
hodor evaluate davis --davis-root DAVIS --results results --output scores --quiet
python -c 'import json, sys; m = json.load(open("scores/metrics.json")); print("J&F-Mean", m["J&F-Mean"]); sys.exit(m["J&F-Mean"] != 1.0)'

step "hodor segment"
hodor segment clip mask.png --out seg --checkpoint quick.pth --min-image-dim 64 --threads 1
[ "$(ls seg/masks | wc -l)" -eq 4 ] && [ -s seg/overlay.mp4 ]
python -c 'import json; v = json.load(open("seg/segment_summary.json"))["versions"]; print("versions:", v)'

step "wheel check passed"
