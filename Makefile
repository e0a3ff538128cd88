# newsingest: `make demo` (set up + run the demo), `make test`, `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
CORPORA ?= ../shared/corpora

.PHONY: install demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsingest demo --out demo-out

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

bench: $(BENCH_STAMP)
	NEWSINGEST_CORPORA=$(CORPORA) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-out .pytest_cache
