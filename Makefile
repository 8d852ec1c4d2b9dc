# 政策兑现单一窗口 — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := node_modules/.installed

.PHONY: demo test e2e lint format bench clean

demo: $(STAMP) $(ASSETS)  ## install everything (PDF fonts too), load demo data, serve on http://127.0.0.1:8000
	$(BIN)/policywindow demo $(DEMO_ARGS)

test: $(STAMP) $(ASSETS)  ## the whole suite; SQLite by default, PostgreSQL when DATABASE_URL is set
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/policywindow makemigrations --check --dry-run > /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

e2e: $(STAMP) $(ASSETS)  ## only the browser tests (headless Chromium)
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

# Benchmarks need PostgreSQL; the database is dropped and recreated, so its name must contain
# "bench". Pass options with BENCH_ARGS, e.g. make bench BENCH_ARGS=--quick (small sizes, no docs).
BENCH_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/policywindow_bench)

bench: $(STAMP)  ## every benchmark on PostgreSQL, results written into docs/benchmarks.md
	DATABASE_URL='$(BENCH_DATABASE_URL)' $(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)  ## ruff and the architecture contracts (pyproject.toml, docs/architecture.md)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# Reinstall only when the dependency list changes, so a second `make demo` starts fast.
$(STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules var test-artifacts
