# The two commands of the quick start, and what they stand on.
#   make run   - create .venv, install, migrate, start the whole system (gateway on :8000)
#   make test  - create .venv if needed, run every test suite

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Each Django project is its own pytest run (settings are per process); then
# common/ and the cross-service tests in tests/.
SUITES := common gateway_project users_project auth_project tests

# A local .env (see .env.example) configures both commands.
-include .env
export $(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env 2>/dev/null)

.PHONY: run test install migrate clean

run: $(STAMP)
	$(PY) manage_all.py up

test: $(STAMP)
	@$(PY) tools/run_suites.py $(SUITES) -- $(PYTEST_ARGS)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage_all.py migrate

$(STAMP): requirements/base.txt requirements/local.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/local.txt
	$(PY) -m pip install --quiet --no-deps --config-settings editable_mode=compat -e .
	touch $(STAMP)

clean:
	rm -rf $(VENV) var
