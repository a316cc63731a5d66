# Set-up and main jobs. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
EXTRAS_TEST := dev,train,musdb,export,tune,bench,docs

.PHONY: demo tour test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install "$(TORCH)"

$(VENV)/.installed-base: $(BIN)/python pyproject.toml
	$(BIN)/pip install -e ".[train]"
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -e ".[$(EXTRAS_TEST)]"
	touch $@ $(VENV)/.installed-base

# Blind estimation with the shipped estimator; each run writes a new runs/demo/<date-time>/.
demo: $(VENV)/.installed-base
	$(BIN)/dasp-blind demo

# The effects tour: the built-in music through every effect, into runs/tour/.
tour: $(VENV)/.installed-base
	$(BIN)/dasp-blind tour --out runs/tour --overwrite

# tests/test_examples.py runs the notebooks of examples/ with nbmake.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

docs: $(VENV)/.installed-test
	$(BIN)/mkdocs build --strict

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_eq.py

clean:
	rm -rf $(VENV) runs site .pytest_cache
