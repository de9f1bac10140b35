# `make demo` and `make test` set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup clean man

# `pip install .` puts man/*.1 in $(VENV)/share/man/man1 (pyproject data-files), where `man`
# finds them while $(BIN) is on PATH; editable installs skip data files, so link them there.
LINK_MAN = mkdir -p $(VENV)/share/man/man1 && cd $(VENV)/share/man/man1 \
	&& for page in $(CURDIR)/man/*.1; do if [ -e "$$page" ]; then ln -sf "$$page" .; fi; done \
	&& for page in *.1; do if [ -L "$$page" ] && [ ! -e "$$page" ]; then rm -f "$$page"; fi; done

$(BIN)/lassonet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(LINK_MAN)
	touch $(BIN)/lassonet

setup: $(BIN)/lassonet

demo: setup
	$(BIN)/lassonet select sample_data/toy_regression.csv --target y --path-out path.csv

# one pytest worker per core, at most four (each fit is small; more would contend for memory);
# a module's tests on one worker, so that its module-scoped fixtures (stability runs, a Dask
# cluster, trained models) run once, not once per worker
test: setup
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadscope

# regenerate the man pages in man/ from the CLI (tests/test_man.py fails when they are stale)
man: setup
	$(BIN)/python man/generate.py
	$(LINK_MAN)

clean:
	rm -rf $(VENV) *.egg-info
