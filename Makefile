# The two commands the README promises: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STACK := dev/stack
PYTEST := $(VENV)/bin/pytest -p no:pulpcore -p no:pulp_file -p no:pulp_certguard -p no:cacheprovider

.PHONY: run stack stop status test test-packages unit functional lint migrations-check makemigrations bench clean

## run: set everything up, start Pulp and sync the bundled offline sample
run: stack
	@set -a; eval "$$($(STACK) env)"; set +a; $(PY) dev/sample.py

## stack: start PostgreSQL, pulpcore-api, pulpcore-content and a worker (idempotent)
stack:
	@$(STACK) start

test-packages:
	@$(STACK) test-packages

stop:
	@$(STACK) stop
	@$(PY) dev/sample.py --stop-registry 2>/dev/null || true

status:
	@$(STACK) status

## test: unit tests, migration check, then functional tests against the live stack
test: stack test-packages lint unit migrations-check functional

lint:
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check --quiet .

unit:
	@set -a; eval "$$($(STACK) env)"; set +a; $(PYTEST) tests/unit -q

functional:
	@set -a; eval "$$($(STACK) env)"; set +a; $(PYTEST) tests/functional -q -x --durations=10

migrations-check:
	@set -a; eval "$$($(STACK) env)"; set +a; pulpcore-manager makemigrations kickstart --check --dry-run

makemigrations:
	@set -a; eval "$$($(STACK) env)"; set +a; pulpcore-manager makemigrations kickstart

## bench: memory benchmarks (speed and memory targets live here, not in tests)
bench: stack test-packages
	@set -a; eval "$$($(STACK) env)"; set +a; \
	  $(PY) bench/primary_memory.py && \
	  $(PY) bench/rpm_unpack_memory.py && \
	  $(PY) bench/dnf_sync_memory.py

clean: stop
	rm -rf .run
