# The two commands of the README: `make demo` and `make test`. Both set themselves up
# (virtualenv, pip, Debian packages) and are safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt-installed
# prometheus (+promtool), alertmanager (+amtool), chromium for the wall tests,
# a CJK font so the wall's Chinese renders, docker-compose (v1) only to validate the compose file offline,
# faketime (libfaketime) to run the clock-sensitive suites at any hour (docs/reliability.md).
APT_PACKAGES := prometheus prometheus-alertmanager chromium fonts-wqy-microhei docker-compose faketime
APT_COMMANDS := prometheus promtool prometheus-alertmanager amtool chromium docker-compose faketime

.PHONY: demo test lint typecheck generate check-generated bench setup apt clean

demo: setup
	$(BIN)/medalliance up

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/medalliance generate --check
	$(BIN)/pytest -q -ra --durations=15

generate: setup
	$(BIN)/medalliance generate

bench: setup
	$(BIN)/python bench/run.py --setup

setup: $(STAMP) $(APT_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(APT_STAMP):
	@missing=0; for c in $(APT_COMMANDS); do command -v $$c >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $(APT_STAMP)

clean:
	rm -rf $(VENV) .medalliance .pytest_cache .mypy_cache .ruff_cache
