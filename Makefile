# Quick start:  make run   (SQLite + demo data on http://127.0.0.1:8000)
#               make test  (the whole test suite)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format fuzz bench bench-reports e2e screenshots clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo_data
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

# Style, the architecture contract (pyproject.toml [tool.importlinter]) and types.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

format: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# schemathesis, every check on every operation and method, as anonymous, partner and ad-ops,
# against the production server on a fresh database (.ci/fuzz.py; FUZZ_ARGS="--max-examples 50").
fuzz: $(VENV)/.installed
	$(PY) .ci/fuzz.py $(FUZZ_ARGS)

# Ad-serving benchmark (see README): production-like server on 127.0.0.1, PostgreSQL and
# Redis when they answer (BENCH_DATABASE_URL, BENCH_REDIS_URL), wrk at 64 connections.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

# Reports benchmark (see README): a year of hourly counters for 200 creatives x 3 slots on
# PostgreSQL (BENCH_REPORTS_DATABASE_URL), the ad-ops pages and the CSV's memory.
bench-reports: $(VENV)/.installed
	$(PY) bench/reports.py $(BENCH_ARGS)

# Home and article reference pages at desktop and phone widths (README "Reference pages").
screenshots: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo_data
	$(PY) manage.py site_screenshots --out $(or $(OUT),screenshots)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* bench-results
