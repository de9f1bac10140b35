# `make demo` and `make test` set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup clean

$(BIN)/lassonet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/lassonet

setup: $(BIN)/lassonet

demo: setup
	$(BIN)/lassonet select sample_data/toy_regression.csv --target y --path-out path.csv

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) *.egg-info
