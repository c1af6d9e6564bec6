# The two commands of the README:
#   make repro   create .venv, install the project, run the whole DVC pipeline (embedded synthetic default)
#   make test    create .venv, install the project, run the whole test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
# Stages run `python`: the project's virtual environment must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup repro test lint bench clean-venv wheel-check compat readme-table

# The exact versions behind the committed results (pip constraints); pyproject.toml holds the ranges.
LOCK   ?= requirements/lock-py311.txt

$(BIN)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# pip byte-compiles every module at install (no --no-compile): with PYTHONDONTWRITEBYTECODE=1, common in
	# containers, Python never caches what it compiles on import, so each stage would recompile torch.
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[pipeline,dev,video]"
	touch $@

setup: $(BIN)/.installed

# DVC experiments and dvclive need a git repository with at least one commit: a fresh `git clone` has
# one; a source tarball gets a local repository and an initial commit here (never of the dataset roots).
repro: setup
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || git init --quiet
	@git rev-parse --verify --quiet HEAD >/dev/null || \
	  (git add -A -- . $$($(BIN)/python -m hodor.data.params params.yaml) && \
	   git -c user.name=hodor -c user.email=hodor@localhost commit --quiet -m "initial commit")
	$(BIN)/dvc repro

# Lint and format check first (cheap), then the whole suite, slow end-to-end tests included, one pytest-xdist
# worker per core. --dist worksteal: each worker starts on its half in collection order (tests/conftest.py
# puts the longest test first) and an idle worker takes tests not yet started from a busy one. (loadfile
# hands out the files with the most tests first, so the one-test end-to-end file started last and ran alone
# for 8 minutes.) The 20 slowest tests are listed at the end. pytest's exit code 5 ("no tests collected")
# is a failure here, never a silent pass.
PYTEST_ARGS ?= -n auto --dist worksteal --durations=20
test: setup
	$(BIN)/ruff check hodor stages tests benchmarks
	$(BIN)/ruff format --check hodor stages tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# After a results refresh: README.md's results table from metrics/*.json (never typed by hand).
readme-table: setup
	$(BIN)/python scripts/readme_table.py --readme README.md --metrics metrics

lint: setup
	$(BIN)/ruff check hodor stages tests benchmarks
	$(BIN)/ruff format --check hodor stages tests benchmarks

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)

# Not in CI. Build the wheel, install it (deps from the lock) into a clean venv under /tmp and run the CLI
# from outside the checkout on small generated data.
wheel-check:
	bash scripts/wheel_check.sh

# Not in CI (downloads several GB): Python 3.12 at the lower bounds (torch 2.11) and Python 3.13 at the
# newest releases, one venv at a time under /tmp, fast tests + parity tests in each.
compat:
	bash scripts/compat.sh
