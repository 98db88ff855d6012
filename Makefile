# Set-up and everyday commands. `make run` and `make test` work on a fresh
# machine: they create .venv, install what is missing, then run.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8050
# A visible pace for demos; set DELAY=0 for full speed.
DELAY  ?= 0.4

.PHONY: run test lint bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	BATCH_DASHBOARD_PROVIDER_DELAY=$(DELAY) $(BIN)/batch-dashboard serve --host $(HOST) --port $(PORT)

# Debian's Chromium and ChromeDriver drive the browser tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	  else \
	    echo "install Chromium and ChromeDriver: sudo apt-get install chromium chromium-driver" >&2; exit 1; \
	  fi; \
	fi

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# wrk loads the server from outside Python; without it the benchmark falls
# back to a Python client, which costs the server's cores more.
bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk) || true
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
