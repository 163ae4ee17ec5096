# Partnership Scorecard — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
WEB_PORT ?= 8000
# Tests run against the real services this machine (and CI) provides; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/scorecard
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: install messages makemessages migrate seed setup run test lint format check-migrations clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

messages: install
	$(PY) manage.py compilemessages --ignore=.venv -v0

makemessages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --no-obsolete

migrate: install
	$(PY) manage.py migrate --noinput -v0

seed: migrate
	$(PY) manage.py seed_demo

setup: messages seed

# Web, Celery worker and beat together on the embedded default (SQLite + filesystem broker under var/),
# or on DATABASE_URL / REDIS_URL when they are set. Ctrl-C stops all three.
run: setup
	@echo "Admin: http://127.0.0.1:$(WEB_PORT)/admin/  (credentials above; API docs: /api/v1/docs/)"
	WEB_PORT=$(WEB_PORT) $(VENV)/bin/honcho start

test: messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: install
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf var/db.sqlite3* var/broker var/cache

# Benchmarks (issue 7) on real PostgreSQL (database scorecard_bench), Redis (db 9), Celery and gunicorn, which
# the suite starts and stops itself; one table at the end. `make bench` (under 15 min; needs wrk:
# `apt-get install -y wrk`) also writes docs/performance.md; `make bench-smoke` (CI) fails when a path turns per-row.
BENCH_ARGS ?=
.PHONY: bench bench-smoke

bench: messages
	$(PY) -m bench.run --write-doc docs/performance.md $(BENCH_ARGS)

bench-smoke: messages
	$(PY) -m bench.run --smoke $(BENCH_ARGS)

# The long fuzzing run: every API operation with 200 generated requests each (the test suite runs 10).
FUZZ_EXAMPLES ?= 200
.PHONY: fuzz
fuzz: install
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_DERANDOMIZE=0 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest tests/api/test_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)
