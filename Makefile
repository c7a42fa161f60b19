# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench clean

# pip's own lines ("Collecting ...", "Installing ...") are the progress of the long first step.
$(STAMP): pyproject.toml
	@echo "==> [1/3] Creating the virtual environment in $(VENV)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "==> [2/3] Updating pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> [3/3] Installing Cellwatch and its dependencies (a few minutes the first time)"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "==> Installed."

install: $(STAMP)

# On a brand-new database in development, `demo --first-run` loads the fictional demo estate and
# prints one user per role (CELLWATCH_DEMO=false: it does nothing and bootstrap makes `admin`).
run: $(STAMP)
	$(BIN)/cellwatch migrate
	-$(BIN)/cellwatch matching reanalyse
	$(BIN)/cellwatch keys convert-packs
	$(BIN)/cellwatch demo --first-run
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
           reports_scale video_matching

bench: $(STAMP)
	for name in $(BENCHES); do $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
