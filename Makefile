# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cellwatch migrate
	$(BIN)/cellwatch bootstrap
	$(BIN)/cellwatch serve

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

BENCHES := matching_accuracy index_speed intake_speed intake_api national_scale takedowns_scale \
           reports_scale

bench: $(STAMP)
	for name in $(BENCHES); do $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
