# The two commands the README promises: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STACK := dev/stack
# pulpcore's pytest plugin is on (Pulp's harness: bindings_cfg, monitor_task, ...); pulp_file's
# and pulp_certguard's are off: their generated clients are not installed here.
PYTEST := $(VENV)/bin/pytest -p no:pulp_file -p no:pulp_certguard -p no:cacheprovider
# Parallel phase of the functional tests: xdist processes (the stack runs 3 pulpcore workers).
FUNCTIONAL_JOBS ?= 4

.PHONY: run stack stop status test test-packages unit unit-domains functional functional-parallel functional-serial \
	lint migrations-check makemigrations bindings bindings-check bindings-install bench bench-packages bench-scale bench-serving bench-sync clean \
	docs docs-check

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

## test: lint, the docs site (docs-check), unit tests, migration check, bindings check, then functional tests against the live stack
test: stack test-packages lint docs-check unit unit-domains migrations-check bindings-check functional

## docs: build the documentation site into .run/site (mkdocs-material, strict: a broken link or
## anchor, a page missing from the navigation, a REST operation without a description fail)
docs:
	@dev/docs/build

## docs-check: build the site, then its checks and the headless-Chromium test (tests/docs,
## screenshots in .run/docs-screenshots/)
docs-check: docs
	@.run/docs-venv/bin/pytest -p no:cacheprovider tests/docs -q

## bindings: regenerate api/kickstart-api.json from the code, build and install the client
bindings:
	@$(STACK) bindings

## bindings-check: fail when the code's API differs from api/kickstart-api.json; else make
## sure the installed client is the one built from it (a second run installs nothing)
bindings-check:
	@$(STACK) bindings-check
	@$(STACK) bindings-install

bindings-install:
	@$(STACK) bindings-install

lint:
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check --quiet .

unit:
	@set -a; eval "$$($(STACK) env)"; set +a; $(PYTEST) tests/unit -q

## unit-domains: the unit tests again with DOMAIN_ENABLED on (the functional domain case is
## tests/functional/test_domains.py on a second Pulp); the wheel test does not depend on it
unit-domains:
	@set -a; eval "$$($(STACK) env)"; set +a; PULP_DOMAIN_ENABLED=true \
	  $(PYTEST) tests/unit -q -n 2 --deselect tests/unit/test_pytest_plugin_wheel.py

## functional: the parallel phase (pytest-xdist), then the tests marked serial, alone
functional: bindings-install
	@$(MAKE) --no-print-directory functional-parallel functional-serial

# A short, fresh --basetemp per run: xdist's default (/tmp/pytest-of-USER/pytest-N/popen-gwN/...)
# makes gpg-agent socket paths under tmp_path longer than a Unix socket allows, and
# concurrent sessions on one machine must not share (and wipe) one basetemp.
functional-parallel:
	@set -a; eval "$$($(STACK) env)"; set +a; tmp=$$(mktemp -d /tmp/ksf.XXXX); \
	  $(PYTEST) tests/functional -q -n $(FUNCTIONAL_JOBS) --dist worksteal -m "not serial" \
	    --basetemp=$$tmp --durations=10 && rm -rf $$tmp

functional-serial:
	@set -a; eval "$$($(STACK) env)"; set +a; tmp=$$(mktemp -d /tmp/kss.XXXX); \
	  $(PYTEST) tests/functional -q -x -m serial --basetemp=$$tmp --durations=10 && rm -rf $$tmp

migrations-check:
	@set -a; eval "$$($(STACK) env)"; set +a; pulpcore-manager makemigrations kickstart --check --dry-run

makemigrations:
	@set -a; eval "$$($(STACK) env)"; set +a; pulpcore-manager makemigrations kickstart

## bench: memory benchmarks, then serving, then sync (speed and memory targets live here, not in tests)
bench: stack test-packages bench-packages
	@set -a; eval "$$($(STACK) env)"; set +a; \
	  $(PY) bench/primary_memory.py && \
	  $(PY) bench/rpm_unpack_memory.py && \
	  $(PY) bench/dnf_sync_memory.py && \
	  $(PY) bench/serving.py && \
	  $(PY) bench/sync.py && \
	  $(PY) bench/scale.py

## bench-serving: only the serving benchmark (content app vs nginx, boot storm); see docs/performance.md
bench-serving: stack bench-packages
	@set -a; eval "$$($(STACK) env)"; set +a; $(PY) bench/serving.py

## bench-sync: only the sync benchmark (plugin vs skopeo, oras, pulp_container, pulp_rpm in a
## bench Pulp of its own under .run/bench/); see docs/performance.md
bench-sync: stack test-packages bench-packages
	@set -a; eval "$$($(STACK) env)"; set +a; $(PY) bench/sync.py

## bench-scale: only the scale benchmark (10, 100, 1,000 small trees: sync, no-op re-sync, worker
## RSS, the API's trees list, trees.json and the menu) on the running stack; see docs/performance.md
bench-scale: stack
	@set -a; eval "$$($(STACK) env)"; set +a; $(PY) bench/scale.py

## bench-packages: Debian packages of the benchmarks (nginx-light, wrk, skopeo, curl)
bench-packages:
	@dev/bench-packages

clean: stop
	rm -rf .run
