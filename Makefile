# greenenergy -- `make demo` runs the product, `make test` passes the tests, `make bench` prints figures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
PYTEST_FLAGS ?= -q -p no:cacheprovider

.PHONY: help demo test test-sqlite test-postgres lint bench install clean

help:
	@echo "make demo    run the product on the embedded SQLite default (http://127.0.0.1:8000)"
	@echo "make test    install and run the whole suite on SQLite, then on a throw-away PostgreSQL"
	@echo "make bench   print the benchmark figures (SQLite and a throw-away PostgreSQL)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/greenenergy demo

test: test-sqlite test-postgres

test-sqlite: lint
	$(PY) -m pytest $(PYTEST_FLAGS)

# ruff: lint and format check (configured in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Runs every test that uses a database again on a real PostgreSQL started just for it;
# fails loudly (exit 3) if the server cannot be started -- it never skips.
test-postgres: $(STAMP)
	$(PY) scripts/with_postgres.py -- $(PY) -m pytest $(PYTEST_FLAGS) -m db

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

BENCHES ?= ledger scoring ingest forest planting play

bench: $(BENCH_STAMP)
	$(PY) scripts/with_postgres.py --durable -- sh -c 'for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done'


clean:
	rm -rf $(VENV) greenenergy.db greenenergy.db-wal greenenergy.db-shm *.egg-info .pytest_cache .hypothesis
