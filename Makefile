# Two commands do all the set-up on a fresh machine:
#   make demo   runs the example DAGs against the local Zoho Invoice emulator
#   make test   runs ruff, mypy and the whole test suite (installing chromium and redis-server if needed)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Empty: the newest Airflow. CI also runs the suite on the oldest supported line (test-oldest-airflow).
AIRFLOW_VERSION ?=
OLDEST_AIRFLOW ?= 3.1.8

.PHONY: venv demo test test-prerequisites lint bench package test-oldest-airflow clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" $(if $(AIRFLOW_VERSION),"apache-airflow==$(AIRFLOW_VERSION)")
	touch $@

venv: $(VENV)/.installed

demo: venv
	bash scripts/demo.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Debian's chromium and redis-server: installed when run as root with apt, else the exact command is shown.
test-prerequisites:
	bash scripts/test_prerequisites.sh

test: lint test-prerequisites
	$(VENV)/bin/pytest

bench: venv
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# Build the wheel and sdist, check their metadata, install the wheel in a clean virtualenv and
# check that Airflow registers the provider there.
package: venv
	bash scripts/check_package.sh

# Lint and types are checked against the newest Airflow (make test); here only the suite runs.
test-oldest-airflow: test-prerequisites
	$(MAKE) venv VENV=.venv-airflow-$(OLDEST_AIRFLOW) AIRFLOW_VERSION=$(OLDEST_AIRFLOW)
	.venv-airflow-$(OLDEST_AIRFLOW)/bin/pytest

clean:
	rm -rf $(VENV) .venv-airflow-* .demo dist .pytest_cache .mypy_cache .ruff_cache
