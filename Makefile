# Quick start: `make demo` (main job) and `make test` (whole suite). Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/exotwin demo --out out/demo
	@echo "Explore it all in the browser: $(BIN)/exotwin serve  (then open http://127.0.0.1:8765/; docs/web.md)"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Cytoscape.js reads the Cytoscape export back in a test, and axe-core checks the web app's
# accessibility in the browser tests (both skipped where node/npm are missing).
JS_STAMP := tests/js/node_modules/.installed-stamp
$(JS_STAMP): tests/js/package-lock.json
	if command -v npm >/dev/null; then \
	  npm ci --prefix tests/js --silent --no-audit --no-fund && touch $(JS_STAMP) \
	  || echo "npm ci failed: the Cytoscape.js read-back and axe-core checks will be skipped"; fi

# The browser tests drive Debian's Chromium through Playwright (pip dev extra), never
# Playwright's own browser builds; without Chromium they skip and say why.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -qq chromium >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }; }; } \
	  || echo "chromium is missing and cannot be installed here: the browser tests will be skipped"

# Two workers, one test file each at a time (module fixtures are computed once per file).
test: $(STAMP) lint $(JS_STAMP) chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/biopsy.py
	$(BIN)/python benchmarks/cohort.py --patients 20 --roadrunner-patients 1
	$(BIN)/python benchmarks/tissue.py --case a --case b
	$(BIN)/python benchmarks/web_load.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache .hypothesis tests/js/node_modules
