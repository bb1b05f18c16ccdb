# E-commerce analytics pipeline on Apache Airflow 3 + PostgreSQL.
# `make run` and `make test` work from a fresh clone with only Python 3.11+, make and git.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The local mode (make run, make airflow, the embedded PostgreSQL) is development tooling: the
# package ecommerce_local under local/, beside plugins/ (the deployed code), never inside it.
LOCAL  := PYTHONPATH=plugins:local $(PY) -m ecommerce_local

DATE    ?=
DAYS    ?= 14
SOURCE  ?= generate
LANDING ?=
ORDERS  ?= 0
CUSTOMER    ?=
TRANSACTION ?=
PYTEST_ARGS ?=

# Settings from .env (never committed; see .env.example) reach every command.
-include .env
export

.PHONY: help install run test check compose-test airflow backfill bench screenshots powerbi trace lock clean stop

help:
	@echo "make run [DATE=YYYY-MM-DD] [DAYS=N] [SOURCE=generate|landing] [LANDING=dir] [ORDERS=N]"
	@echo "make test | make check | make compose-test | make airflow | make bench | make screenshots | make powerbi | make backfill START=YYYY-MM-DD END=YYYY-MM-DD"
	@echo "make trace CUSTOMER=<id> | make trace TRANSACTION=<id>"
	@echo "make stop | make clean | make lock"

# The venv of make run and make test: the runtime lock (what the Docker image installs) and the
# development lock (tests, the local mode). Rebuilt only when either lock changes. pip installs
# uv at its pin in requirements-dev.lock, then uv installs both locks, every package at its
# pinned version and without resolving (--no-deps, as pip did), its bytecode compiled as pip's
# is: a fresh venv in about 25 s where pip took 90 s on 2 cores. uv reads its own settings
# (UV_DEFAULT_INDEX, UV_CACHE_DIR), not pip's. pip check then verifies the set as before.
LOCKS := requirements.lock requirements-dev.lock

$(VENV)/.installed: $(LOCKS)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps "$$(grep -x 'uv==[^ ]*' requirements-dev.lock)"
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --compile-bytecode $(addprefix -r ,$(LOCKS))
	$(PY) -m pip check --disable-pip-version-check
	touch $@

install: $(VENV)/.installed

# Values reach the command as environment variables ("$$DATE"), never pasted into its text.
run: install
	$(LOCAL) run --date "$$DATE" --days "$$DAYS" --source "$$SOURCE" --landing "$$LANDING" --orders "$$ORDERS"

# tests/conftest.py sets up the test profile: embedded database ecommerce_test, .local/test/.
# A worker per core (pytest-xdist; four at most), each with its own database and AIRFLOW_HOME
# (ecommerce_test_gw0, .local/test/gw0/): test files are dealt out whole, so a module's shared
# fixtures (a loaded warehouse, Airflow's services) start once, the longest first by the seconds
# each took in the previous run (tests/conftest.py, LongestModulesFirst). A warehouse named by
# AIRFLOW_CONN_ECOMMERCE_WAREHOUSE is one database for every worker: there the tests run in one
# process.
PARALLEL := $(if $(AIRFLOW_CONN_ECOMMERCE_WAREHOUSE),,-n auto --maxprocesses 4 --dist loadfile)

test: install
	$(PY) -m pytest -v $(PARALLEL) $(PYTEST_ARGS)

# The quick edit loop: unit, DAG and SQL tests without the e2e runs and the many-load ones
# (make test runs everything).
check: install
	$(PY) -m pytest -q $(PARALLEL) -m "not e2e and not slow" tests/unit tests/dags tests/sql $(PYTEST_ARGS)

# The Docker deployment, tested as a user runs it: docker-compose.yml and the Dockerfile on a
# Docker engine (started, and stopped again, when none runs), both executors, faults included
# (tests/compose/; docs/operations.md, "Testing the deployment").
compose-test: install
	$(PY) -m pytest -v -s -c tests/compose/pytest.ini $(PYTEST_ARGS) tests/compose

# `exec`: make's child is the supervisor itself, not a shell. On a SIGTERM to the terminal's
# process group the shell between them died at once while its Python went on stopping the
# components, and make, reaping a child already gone, mostly ended with "wait: No child
# processes" (status 2) before they had stopped. Now make waits while the supervisor stops every
# component, then ends as make does on SIGTERM (exit status 143); Ctrl-C likewise (130).
# AIRFLOW_SERVICES: the e2e tests start their instances through this recipe with their own homes.
AIRFLOW_SERVICES := $(LOCAL) exec -- $(PY) -m ecommerce_local.services
airflow: install
	exec env $(AIRFLOW_SERVICES)

backfill: install
	@test -n "$$START" -a -n "$$END" || { echo "usage: make backfill START=YYYY-MM-DD END=YYYY-MM-DD"; exit 2; }
	$(LOCAL) run --start "$$START" --date "$$END" --source "$$SOURCE" --landing "$$LANDING" --orders "$$ORDERS"

bench: install
	$(LOCAL) exec --profile bench -- $(PY) tests/benchmarks/bench.py

# Needs Debian's chromium (apt-get install chromium) and a dashboard from `make run`.
screenshots: install
	PYTHONPATH=plugins $(PY) -m ecommerce.dashboards.screenshot "$${ECOMMERCE_DATA_DIR:-data}/dashboards/index.html" dashboards/screenshots

# The Power BI project and the Tableau data source under dashboards/, from the warehouse catalog
# and include/bi/semantic_model.yml (commit the result).
powerbi: install
	$(LOCAL) exec -- $(PY) -m ecommerce.bi dashboards

# One record's path: raw file and line -> staging -> production (or quarantine) -> dimensions ->
# facts -> analytics. Values reach the command as environment variables.
trace: install
	$(LOCAL) exec -- $(PY) -m ecommerce.trace --customer "$$CUSTOMER" --transaction "$$TRANSACTION"

stop: install
	$(LOCAL) stop

# Regenerate both locks in a throw-away venv: requirements.lock from requirements.txt (the runtime
# set), then requirements-dev.lock from what requirements-dev.txt adds, installed with
# requirements.lock as constraints, so the development set never moves a runtime version.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	.lock-venv/bin/pip check --disable-pip-version-check
	{ echo "# Runtime lock: every package of a known-good install of requirements.txt, pinned: what the"; \
	  echo "# Docker image installs. Generated by \`make lock\`; requirements-dev.lock adds the development set."; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c requirements.lock
	.lock-venv/bin/pip check --disable-pip-version-check
	{ echo "# Development lock: requirements.lock, then every package requirements-dev.txt adds to it, pinned"; \
	  echo "# (installed with requirements.lock as constraints). Generated by \`make lock\`; \`make\` installs it."; \
	  echo "-r requirements.lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -vxF -f requirements.lock; } > requirements-dev.lock
	rm -rf .lock-venv

clean:
	-$(LOCAL) stop 2>/dev/null
	rm -rf .local data
