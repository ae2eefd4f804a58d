# Two entry points on a fresh machine: `make quickstart` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev test test-fast quickstart gpu-wheels clean

## The runtime: requirements.txt and this package (editable) into .venv.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is needed (PYTHON=python3.11 make ...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

## The test tools on top (requirements-dev.txt).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

## Runs the whole test suite (6 to 9 minutes on 2 CPU cores): one
## pytest-xdist worker per core (at most 4), a test file per worker at a time.
PYTEST := $(PY) -m pytest -q -n auto --maxprocesses=4 --dist loadfile
test: $(DEV_STAMP)
	$(PYTEST) tests

## Skips the tests marked slow.
test-fast: $(DEV_STAMP)
	$(PYTEST) -m "not slow" tests

## Builds the synthetic data set, trains and evaluates on it (CPU, minutes).
quickstart: $(STAMP)
	$(PY) train.py --config=configs/quickstart.py --workdir=runs/quickstart

## Wheels of what a GPU machine's image may lack, for scripts/benchmark_gpu.sh
## (carried as .whl; see docs/PERFORMANCE.md). Needs pip's index, not a GPU.
gpu-wheels:
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
	    --implementation cp --platform manylinux2014_x86_64 -d .whl \
	    "ml_collections>=1.0,<2"

clean:
	rm -rf $(VENV) runs
