# Runwarden: `make run` serves the demo on SQLite, `make test` runs the suite.
# Every target is idempotent; `setup` only reinstalls what changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
TURBO_SRC := node_modules/@hotwired/turbo/dist/turbo.es2017-umd.js
TURBO := app/static/vendor/turbo.js
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

export FLASK_APP := wsgi
export RUNWARDEN_RECONCILER ?= embedded

.PHONY: setup run test lint bench bench-search bench-insights screenshots bench-ingest

setup: $(PIP_STAMP) $(TURBO)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PIP_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json $(wildcard package-lock.json)
	$(if $(wildcard package-lock.json),npm ci,npm install) --no-audit --no-fund
	touch $@

$(TURBO): $(NPM_STAMP)
	mkdir -p $(@D)
	cp $(TURBO_SRC) $@

run: setup
	mkdir -p instance
	RUNWARDEN_RECONCILER=off $(BIN)/flask db upgrade
	RUNWARDEN_RECONCILER=off $(BIN)/flask demo seed --if-empty
	@echo
	@echo "  Runwarden on http://$(HOST):$(PORT)/login"
	@echo "  Demo sign-in: owner@example.com / runwarden-demo"
	@echo "  (also operator@example.com, viewer@example.com, globex-owner@example.com)"
	@echo
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(PIP_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	@if [ -f bench/__main__.py ]; then $(BIN)/python -m bench; \
	else echo "bench: no benchmark yet (bench/__main__.py is absent)"; fi

# Ingestion through gunicorn over HTTP (wrk, PostgreSQL): see bench/README.md.
bench-ingest: setup
	$(BIN)/python -m bench.ingest_http

# List search and time range at RUNS runs (the bench data set): p95 target 25 ms.
bench-search: setup
	$(BIN)/python -m bench.list_search

# The insights page at RUNS runs (the bench data set): p95 target 50 ms.
bench-insights: setup
	$(BIN)/python -m bench.insights

# PNGs of every page, every role, 1440 and 390 px, light and dark, into screenshots/.
screenshots: setup
	$(BIN)/python -m tests.browser.screenshots screenshots
