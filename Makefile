# The two commands of the quick start, and what they stand on.
#   make run   - create .venv, install, migrate, start the whole system (gateway on :8000)
#   make test  - create .venv if needed, run every test suite
#   make lock  - rewrite the locks (requirements/*.txt) from requirements/*.in

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The import rules first (import-linter, each project's .importlinter); then each
# Django project is its own pytest run (settings are per process); then common/
# and the cross-service tests in tests/.
SUITES := imports common gateway_project users_project auth_project tests

# A local .env (see .env.example) configures both commands.
-include .env
export $(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env 2>/dev/null)

.PHONY: run test install migrate lock clean

run: $(STAMP)
	$(PY) manage_all.py up

test: $(STAMP)
	@$(PY) tools/run_suites.py $(SUITES) -- $(PYTEST_ARGS)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage_all.py migrate

# Every package from the lock, each checked against its hashes (pip and setuptools
# included); then the shared `common` package, built with the locked setuptools.
$(STAMP): requirements/local.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/local.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $(STAMP)

# The locks pin every package, direct or pulled in, with its hashes, for any Python
# from 3.11 and any platform (markers); production's first, and the local one keeps
# the versions they share. Pass uv options with UV_ARGS, e.g. UV_ARGS="--upgrade".
LOCK := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock" $(UV_ARGS)

lock: $(STAMP)
	$(LOCK) requirements/production.in -o requirements/production.txt
	$(LOCK) requirements/local.in -c requirements/production.txt -o requirements/local.txt

clean:
	rm -rf $(VENV) var
