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

# One pytest-xdist worker per core of the machines this runs on (2); TEST_WORKERS=0: no workers.
TEST_WORKERS ?= 2

test: lint
	@start=$$(date +%s); \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=10; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s wall clock, $(TEST_WORKERS) workers"; \
	exit $$status

BENCHES := matching_accuracy index_speed intake_speed intake_api national_scale takedowns_scale \
           reports_scale

bench: $(STAMP)
	for name in $(BENCHES); do $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
