#!/usr/bin/env bash
# GPU check of issue 14: at most 4 minutes on one GPU, one JSON (benchmarks/gpu_check.py says what is in it).
#
#   benchmarks/gpu_check.sh [OUT.json]           on a GPU machine (default OUT: gpu_check.json)
#   benchmarks/gpu_check.sh --dry [OUT.json]     CPU, quick model, tiny sizes: checks this script runs
#
# The machine needs Python >= 3.11 with torch and torchvision; the project runs from PYTHONPATH (nothing is
# installed). Packages missing there (timm, numpy, opencv, ...) travel as wheels in .whl/ at the repository
# root and are installed offline into a private folder first.
set -euo pipefail
cd "$(dirname "$0")/.."
dry=()
if [ "${1:-}" = "--dry" ]; then dry=(--dry); shift; fi
out="${1:-gpu_check.json}"
site="${TMPDIR:-/tmp}/hodor-gpu-check-site"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import torch, torchvision, timm; print('gpu_check: torch', torch.__version__, 'torchvision', torchvision.__version__, 'timm', timm.__version__, 'cuda', torch.cuda.is_available())"
limit=240; [ ${#dry[@]} -eq 0 ] || limit=1800  # the GPU budget; a loaded CPU needs longer for the dry run
exec timeout "$limit" python3 benchmarks/gpu_check.py "${dry[@]}" --require-gpu --out "$out"
