# Two entry points on a fresh machine: `make quickstart` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-fast quickstart gpu-wheels clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Runs the whole test suite (about 10 minutes on 2 CPU cores).
test: $(STAMP)
	$(PY) -m pytest -q tests

## Skips the tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" tests

## Builds the synthetic data set, trains and evaluates on it (CPU, minutes).
quickstart: $(STAMP)
	$(PY) train.py --config=configs/quickstart.py --workdir=runs/quickstart

## Wheels of what the GPU machine's image lacks, for scripts/benchmark_gpu.sh
## (carried as .whl; see docs/PERFORMANCE.md). Needs pip's index, not a GPU.
gpu-wheels:
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
	    --implementation cp --platform manylinux2014_x86_64 -d .whl \
	    "ml_collections>=1.0,<2"

clean:
	rm -rf $(VENV) runs
