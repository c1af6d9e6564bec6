#!/usr/bin/env bash
# Compatibility matrix (not run in CI: each leg downloads a CUDA build of torch, several GB).
#
#   scripts/compat.sh [LEG ...]     LEG: py312-lowest (default first), py313-newest
#
# One leg at a time: a fresh venv under $COMPAT_ROOT, the project installed NON-editable from the ranges of
# pyproject.toml (not from the lock), then the fast tests (-m "not slow") and tests/test_official_parity.py
# run from the checkout; the venv is deleted afterwards, the leg's wheelhouse is kept ($COMPAT_ROOT/wheels:
# a rerun downloads nothing; about 3 GB per leg).
#   py312-lowest  Python 3.12, every direct dependency at the lower bound of its range (torch 2.11 /
#                 torchvision 0.26, the GPU machines' pair): checks the lower bounds are real.
#   py313-newest  Python 3.13, the newest releases the ranges admit (the newest torch / torchvision pair).
# One summary line per leg is appended to $COMPAT_RESULTS; the full log of each leg is beside it.
set -uo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
COMPAT_ROOT="${COMPAT_ROOT:-/tmp/hodor-compat}"
COMPAT_RESULTS="${COMPAT_RESULTS:-$COMPAT_ROOT/results.txt}"
PY312="${PY312:-/root/.pyenv/versions/3.12.1/bin/python}"
PY313="${PY313:-/root/.pyenv/versions/3.13.0/bin/python}"
# A machine-wide pip config may cap torch (this project's dev machines cap it at the release on disk): the
# legs must see the real index, so pip's config files are skipped unless COMPAT_PIP_CONFIG names one.
export PIP_CONFIG_FILE="${COMPAT_PIP_CONFIG:-/dev/null}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
MIN_FREE_GB=8
# The parity fixture beside the checkout (the tests run from a copy of it, elsewhere).
export HODOR_PARITY_FIXTURE="${HODOR_PARITY_FIXTURE:-$REPO/../shared/fixtures/hodor-parity}"

# Write pip constraints pinning each direct dependency of pyproject.toml to its lower bound (">=X" -> "==X").
lowest_constraints() {
    "$1" - "$REPO/pyproject.toml" <<'EOF'
import re, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = list(project["dependencies"])
for extra in ("pipeline", "dev", "video"):
    deps += project["optional-dependencies"][extra]
for dep in deps:
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)", dep)
    if not match:
        sys.exit(f"compat.sh: {dep!r} in pyproject.toml has no '>=' lower bound")
    print(f"{match[1]}=={match[2]}")
EOF
}

run_leg() {
    local leg="$1" python mode
    case "$leg" in
        py312-lowest) python="$PY312"; mode=lowest ;;
        py313-newest) python="$PY313"; mode=newest ;;
        *) echo "compat.sh: unknown leg '$leg' (py312-lowest, py313-newest)" >&2; return 2 ;;
    esac
    [ -x "$python" ] || { echo "compat.sh: $leg: no interpreter at $python (set PY312 / PY313)" >&2; return 2; }
    local free_gb
    free_gb=$(df -P -BG "$COMPAT_ROOT" | awk 'NR==2 {gsub("G","",$4); print $4}')
    if [ "$free_gb" -lt "$MIN_FREE_GB" ]; then
        echo "compat.sh: $leg: only ${free_gb} GB free under $COMPAT_ROOT, a venv needs ~6 GB" >&2
        return 2
    fi
    local venv="$COMPAT_ROOT/venv-$leg" src="$COMPAT_ROOT/src-$leg" log="$COMPAT_ROOT/$leg.log"
    local wheels="$COMPAT_ROOT/wheels/$leg"
    rm -rf "$venv" "$src"
    # Install from a copy of the working tree (tracked + untracked, not ignored): the build's own files
    # (build/, *.egg-info) then never land in the checkout.
    mkdir -p "$src"
    git -C "$REPO" ls-files -z -co --exclude-standard | tar -C "$REPO" --null -T - -cf - | tar -C "$src" -xf -
    local started=$SECONDS
    (
        echo "== $leg: $("$python" --version) ($mode)"
        "$python" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --upgrade pip || exit 1
        constraints=()
        if [ "$mode" = lowest ]; then
            lowest_constraints "$venv/bin/python" > "$COMPAT_ROOT/lowest-$leg.txt" || exit 1
            cat "$COMPAT_ROOT/lowest-$leg.txt"
            constraints=(-c "$COMPAT_ROOT/lowest-$leg.txt")
        fi
        # The leg's wheels are kept in a wheelhouse (a rerun downloads nothing), then installed offline.
        mkdir -p "$wheels"
        "$venv/bin/python" -m pip download --progress-bar off -d "$wheels" --find-links "$wheels" "${constraints[@]}" \
            "setuptools>=69" "$src[pipeline,dev,video]" || exit 1
        "$venv/bin/python" -m pip install --progress-bar off --no-index --find-links "$wheels" "${constraints[@]}" \
            "$src[pipeline,dev,video]" || exit 1
        "$venv/bin/python" -m pip freeze > "$COMPAT_ROOT/freeze-$leg.txt"
        echo "installed in $((SECONDS - started)) s; venv $(du -sh "$venv" | cut -f1)"
    ) &> "$log" || { echo "$leg: INSTALL FAILED (see $log)" | tee -a "$COMPAT_RESULTS"; rm -rf "$venv" "$src"; return 1; }
    local versions fast parity
    versions=$("$venv/bin/python" -c 'from hodor.provenance import provenance; p = provenance(); print(" ".join(f"{k}={p[k]}" for k in ("python", "torch", "torchvision", "timm", "numpy", "opencv-python-headless", "pillow")))' 2>> "$log")
    # From the snapshot of the checkout, with the venv first on PATH (tests call `hodor` and `python`).
    fast=$(cd "$src" && PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        -m "not slow" 2>&1 | tee -a "$log" | tail -n 1)
    parity=$(cd "$src" && PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        tests/test_official_parity.py 2>&1 | tee -a "$log" | tail -n 1)
    echo "$leg | $versions | fast: $fast | parity: $parity | $((SECONDS - started)) s" | tee -a "$COMPAT_RESULTS"
    rm -rf "$venv" "$src"
}

mkdir -p "$COMPAT_ROOT"
status=0
for leg in "${@:-py312-lowest py313-newest}"; do
    for one in $leg; do run_leg "$one" || status=1; done
done
echo "results: $COMPAT_RESULTS"
exit $status
