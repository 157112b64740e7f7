# Quick start: `make demo` (main job) and `make test` (whole suite). Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/exotwin demo --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Cytoscape.js reads the Cytoscape export back in a test (skipped where node/npm are missing).
JS_STAMP := tests/js/node_modules/.installed-stamp
$(JS_STAMP): tests/js/package-lock.json
	if command -v npm >/dev/null; then \
	  npm ci --prefix tests/js --silent --no-audit --no-fund && touch $(JS_STAMP) \
	  || echo "npm ci failed: the Cytoscape.js read-back test will be skipped"; fi

test: $(STAMP) lint $(JS_STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/biopsy.py
	$(BIN)/python benchmarks/cohort.py --patients 20 --roadrunner-patients 1
	$(BIN)/python benchmarks/tissue.py --case a --case b

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache .hypothesis tests/js/node_modules
