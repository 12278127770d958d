# The two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` installs only the tool and its sandbox, so the first command is quick; `make test`
# adds the dev tools on top, each with its own stamp.
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest workflow-lint bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[sandbox]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/pytest -q

# The workflow files alone: check-jsonschema, zizmor and shellcheck (all PyPI wheels of the dev
# extra, run offline), as `make test` runs them.
workflow-lint: $(STAMP)
	$(BIN)/pytest -q tests/test_workflows_lint.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The fault soak at a larger size than the one `make test` runs.
soak: $(STAMP)
	INBOUND_SYNC_SOAK_ROUNDS=200 $(BIN)/pytest -q -m soak

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
