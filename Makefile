# make run   : set up everything and start the demo station kiosk
# make test  : set up everything and run the whole test suite
# make bench : the benchmarks, printing medians and ratios
# make coverage : the test suite under coverage.py, and the line coverage of kiosk/
# make test-deploy : the installers end to end in a clean Debian 12 root (root, a Debian mirror)
SHELL := /bin/bash
.DEFAULT_GOAL := run
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make

# Test workers (pytest-xdist): the suite waits on servers, browsers and
# printers more than it computes, so three workers pay even on two cores
# (a quiet two-core box used 1.46 cores on average with three).
TEST_WORKERS ?= 3
# Files run in the order tests/conftest.py gives them: slow ones first.
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

.PHONY: setup run test test-deploy bench coverage clean

setup: $(STAMP)/system $(STAMP)/python $(STAMP)/node $(STAMP)/fonts

$(STAMP)/system: scripts/system-packages.txt scripts/install-system
	@mkdir -p $(STAMP)
	bash scripts/install-system
	@touch $@

$(STAMP)/python: requirements.txt $(STAMP)/system
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

# The test and benchmark tools, installed with the run-time packages so pip
# resolves both files together.
$(STAMP)/python-dev: requirements.txt requirements-dev.txt $(STAMP)/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

$(STAMP)/node: package.json package-lock.json $(STAMP)/system scripts/vendor
	npm ci --no-audit --no-fund --loglevel=error
	bash scripts/vendor
	@touch $@

$(STAMP)/fonts: $(STAMP)/python kiosk/receipts/fonts.py
	$(PY) -m kiosk.receipts.fonts
	@touch $@

run: setup
	bash scripts/run-demo

test: setup $(STAMP)/python-dev
	KIOSK_TEST_POSTGRES_URL=$$(bash scripts/ensure-postgres) $(PYTEST) $(PYTEST_ARGS)

# Not part of make test: it builds a release and a Debian root and installs
# packages into it (minutes, and the mirror must answer). Each installer
# has its script in deploy/test/ run through deploy/test/in-debian-root.
test-deploy: setup $(STAMP)/python-dev
	set -e; for check in deploy/test/station $(wildcard deploy/test/hub); do bash $$check; done

bench: setup $(STAMP)/python-dev
	KIOSK_TEST_POSTGRES_URL=$$(bash scripts/ensure-postgres) bash bench/run

# Servers started by the tests are measured too (coverage.py's subprocess
# patch, configured in pyproject.toml); slower than make test, so kept apart.
coverage: setup $(STAMP)/python-dev
	rm -f .coverage .coverage.*
	KIOSK_TEST_POSTGRES_URL=$$(bash scripts/ensure-postgres) $(PY) -m coverage run -m pytest \
	  -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)
	$(PY) -m coverage combine -q
	$(PY) -m coverage report

clean:
	rm -rf $(STAMP) $(VENV) node_modules static/vendor static/fonts
