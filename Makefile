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

# Apache Kafka's jars for the embedded broker, fetched with Maven (deploy/kafka/pom.xml pins the
# version) into a gitignored folder; again only when the pom changes.
KAFKA_LIB := .medalliance/kafka/lib
KAFKA_STAMP := $(KAFKA_LIB)/.fetched

.PHONY: demo test test-at kafka-jars lint typecheck generate check-generated bench setup apt clean

demo: setup
	@$(MAKE) -s kafka-jars KAFKA_REQUIRED=0
	$(BIN)/medalliance up

test: setup
	@$(MAKE) -s kafka-jars KAFKA_REQUIRED=1
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/medalliance generate --check
	$(BIN)/pytest -q -ra --durations=15

# The suites that ask no Prometheus (Go reads the clock without libc: faketime cannot move it), run
# with the clock moved to the next HOUR in Asia/Shanghai, e.g. `make test-at HOUR=03:30`
# (docs/reliability.md, "At any hour"). test_up.py starts one but reads only the worker's /metrics.
AT_HOUR_SUITES := tests/reliability tests/streams --ignore=tests/streams/wall
test-at: setup
	@test -n "$(HOUR)" || { echo "make test-at: give HOUR=HH:MM (Asia/Shanghai)"; exit 2; }
	@now=$$(date +%s); at=$$(TZ=Asia/Shanghai date -d "$(HOUR) tomorrow" +%s) || exit 2; \
	offset=$$(( (at - now) % 86400 )); \
	echo "faketime +$$offset s: the suites run at $$(TZ=Asia/Shanghai date -d @$$(( now + offset )) '+%F %T %Z')"; \
	faketime -f "+$$offset" $(BIN)/pytest -q -ra --durations=10 $(AT_HOUR_SUITES)

# Without Java 17 or Maven the demo falls back to tansu (it says so); the suite fails in one line.
kafka-jars:
	@if [ -f $(KAFKA_STAMP) ] && [ $(KAFKA_STAMP) -nt deploy/kafka/pom.xml ]; then exit 0; fi; \
	missing=""; \
	java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || missing="Java 17"; \
	command -v mvn >/dev/null || missing="$${missing:+$$missing and }Maven"; \
	if [ -n "$$missing" ]; then \
	  if [ "$(KAFKA_REQUIRED)" = 1 ]; then \
	    echo "make test: $$missing missing: the suite runs Apache Kafka (Debian: openjdk-17-jre-headless maven)"; exit 2; \
	  fi; \
	  echo "no $$missing here: the demo runs on tansu instead of Apache Kafka"; exit 0; \
	fi; \
	echo "fetching Apache Kafka's jars with Maven into $(KAFKA_LIB)"; \
	rm -rf $(KAFKA_LIB) && mkdir -p $(KAFKA_LIB) && \
	if mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	  -DoutputDirectory=$(CURDIR)/$(KAFKA_LIB) > $(KAFKA_LIB)/../mvn.log 2>&1; then touch $(KAFKA_STAMP); \
	else tail -20 $(KAFKA_LIB)/../mvn.log; echo "fetching Apache Kafka failed: see $(KAFKA_LIB)/../mvn.log"; exit 2; fi

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
