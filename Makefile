# Two commands for a newcomer: `make demo` and `make test` (each creates .venv itself).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= $(CURDIR)/data

.PHONY: demo test dev install bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

## Generate the demo shards and materialize the whole asset graph on them.
demo: install
	$(BIN)/curate demo --data-root $(DATA)

## Run the test suite (engine, Dagster graph, sensor, CLI).
test: install
	$(BIN)/python -m pytest

## Dagster web UI on http://127.0.0.1:3000 with this project's workspace and instance.
dev: install
	mkdir -p $(DATA)/dagster_home
	cp dagster.yaml $(DATA)/dagster_home/dagster.yaml
	DAGSTER_HOME=$(DATA)/dagster_home CURATION_DATA_ROOT=$(DATA) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## Spine benchmark (docs/s per stage, peak RSS) -> bench/results/spine.json
bench: install
	$(BIN)/python bench/spine.py --n 10000

clean:
	rm -rf $(DATA) .pytest_cache
