# Set-up happens inside these targets: a fresh machine needs only Python 3.11 and make.
# bash for PIPESTATUS: the install fails when pip does, whatever its output filter
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)
export FUNNEL_DAGSTER_STORAGE ?= $(CURDIR)/data/dagster
INBOX ?= $(or $(FUNNEL_INBOX_DIR),data/inbox)

.PHONY: run test ui bench generate clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing funnel sync and its libraries into $(VENV) (a minute or two the first time)"
	$(BIN)/python -m pip install --progress-bar off -e '.[test]' | grep --line-buffered -E '^(Collecting|Successfully installed)' | sed -u 's/^Successfully installed/installed:/; s/^Collecting /  collecting /'; exit $${PIPESTATUS[0]}
	@touch $@

## make run: install, fill an empty inbox with sample exports, run the whole pipeline once.
run: $(STAMP)
	@if [ -z "$$(echo '$(INBOX)' | grep '://')" ] && [ -z "$$(find $(INBOX) -type f -name '*.csv' 2>/dev/null | head -n 1)" ]; then \
		echo "inbox $(INBOX) is empty: generating sample exports"; \
		$(BIN)/funnel generate --out $(INBOX); \
	fi
	$(BIN)/funnel run --inbox $(INBOX)

## make test: install, then run the test suite on TEST_WORKERS processes (pytest-xdist), one test file
## per worker at a time, the longest files first (tests/conftest.py). TEST_WORKERS=0: in this process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## make ui: the Dagster webserver and daemon (nightly schedule on) on http://127.0.0.1:3000
ui: $(STAMP)
	mkdir -p $(FUNNEL_DAGSTER_STORAGE)
	$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf data/inbox data/warehouse data/dagster

## make bench: time a full run, the floor and pandas baselines and a nightly run on generated exports
## (docs/BENCHMARKS.md). WORKLOAD=large (default: 3M GA4 rows, 1M leads) or small; SCALE=x instead of a workload;
## REPEAT=n times each run is timed (default 3, the median reported).
WORKLOAD ?= large
SCALE ?=
REPEAT ?= 3
bench: $(STAMP)
	$(BIN)/funnel bench $(if $(SCALE),--scale $(SCALE),--workload $(WORKLOAD)) --repeat $(REPEAT)
