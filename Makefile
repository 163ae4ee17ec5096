# Partnership Scorecard — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
WEB_PORT ?= 8000
# Tests run against the real services this machine (and CI) provides; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/scorecard
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: install messages makemessages migrate seed static setup run test lint format check-migrations clean soak

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# python-ldap (directory sign-in, docs/sign-on.md) builds from source against Debian's LDAP and SASL headers.
	@dpkg -s libldap2-dev libsasl2-dev >/dev/null 2>&1 || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& (apt-get install -y -q libldap2-dev libsasl2-dev >/dev/null 2>&1 \
		    || (apt-get update -q >/dev/null && apt-get install -y -q libldap2-dev libsasl2-dev >/dev/null)); } \
		|| echo "python-ldap needs Debian's libldap2-dev and libsasl2-dev: sudo apt-get install libldap2-dev libsasl2-dev"
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
	WEB_PORT=$(WEB_PORT) $(PY) manage.py seed_demo

# Static files, hashed and compressed, into STATIC_ROOT (staticfiles/, or DJANGO_STATIC_ROOT), served by WhiteNoise.
static: install
	$(PY) manage.py collectstatic --noinput -v0

setup: messages seed static

# Web, Celery worker and beat together on the embedded default (SQLite + filesystem broker under var/),
# or on DATABASE_URL / REDIS_URL when they are set. Ctrl-C stops all three; so does one of them dying, loudly.
run: setup
	@echo "Admin: http://127.0.0.1:$(WEB_PORT)/admin/  (credentials above; API docs: /api/v1/docs/)"
	@WEB_PORT=$(WEB_PORT) $(VENV)/bin/honcho start || { code=$$?; echo >&2; \
	  echo "make run: stopped because a process exited by itself (code $$code); its last lines are above." >&2; \
	  echo "Start everything again with: make run" >&2; exit $$code; }

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

# The soak (issue 15): `make run`'s web, worker and beat on the embedded default for SOAK_MINUTES (60) of score
# requests, approvals and report builds; fails on a dead process, a failed request or an unfinished job.
SOAK_MINUTES ?= 60
soak: messages
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

clean:
	rm -rf var/db.sqlite3* var/broker var/cache

# Benchmarks (issues 7 and 17; the package bench/) on real PostgreSQL (database scorecard_bench), Redis (db 9),
# Celery and gunicorn, which the suite starts and stops itself; one table at the end, each figure beside a ceiling
# measured in the same run (an independent minimal bulk path; a plain Django view under the same gunicorn).
# `make bench` (under 15 min; needs wrk: `apt-get install -y wrk`) also writes docs/performance.md;
# `make bench-smoke` (CI) fails when a path turns per-row.
BENCH_ARGS ?=
.PHONY: bench bench-smoke

bench: messages
	$(PY) -m bench.run --write-doc docs/performance.md $(BENCH_ARGS)
	$(PY) -m bench.limits --write-doc docs/limits.md $(BENCH_LIMITS_ARGS)
	$(PY) -m bench.report_exposure --write-doc docs/limits.md

bench-smoke: messages
	$(PY) -m bench.run --smoke $(BENCH_ARGS)

# Joint lending (issue 13), both benches writing their figures into docs/limits.md: the limit check for one bank with
# 1,000 partners × 36 months of exposure, its median time next to one hand-written SQL aggregate over the same rows,
# target < 1 s (bench/limits.py, about a minute); then the weekly report's exposure section at 100k initiatives,
# target under 20 % of the report's time (bench/report_exposure.py, about five minutes). Each has its own database,
# dropped at the end.
BENCH_LIMITS_ARGS ?=
.PHONY: bench-limits
bench-limits: messages
	$(PY) -m bench.limits --write-doc docs/limits.md $(BENCH_LIMITS_ARGS)
	$(PY) -m bench.report_exposure --write-doc docs/limits.md

# The evidence of docs/reliability.md, one target each (all of them also run inside `make test`):
#   faults  — worker SIGKILL, PostgreSQL restarted, Redis down, beat restarted, against real processes
#   inputs  — bad CSV/XLSX imports, evidence uploads, the API's error shapes, a bounded schemathesis run
#   access  — every admin and API route × anonymous, each role and another bank; lockouts; settings
#   e2e     — the three journeys in headless Chromium (screenshots under test-artifacts/, not committed)
# (The long fuzzing run is `make fuzz`; the load test is `make load`.)
SUITE = DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)
.PHONY: faults inputs access e2e
faults: messages
	$(SUITE) tests/faults

inputs: messages
	$(SUITE) tests/partnerships/test_import_bad_files.py tests/partnerships/test_evidence.py tests/api/test_errors.py \
		tests/api/test_fuzz.py tests/api/test_regressions.py tests/api/test_hardening.py

access: messages
	$(SUITE) tests/test_admin_route_matrix.py tests/api/test_tenancy_matrix.py tests/api/test_auth.py \
		tests/test_security.py tests/test_settings.py tests/test_no_secrets.py tests/test_one_door.py tests/api/test_races.py

e2e: messages
	$(SUITE) tests/e2e

# The load test (issue 6): 50 clients (30 reading lists and details, 20 asking for scores and polling their jobs)
# for 60 s against gunicorn, PostgreSQL, Redis and a Celery worker (all started and stopped by the run; needs wrk).
# Fails on any non-2xx answer, socket error or timeout, and unless every accepted score job succeeds.
# It also measures a plain Django view under the same gunicorn and reports the load's rate as a share of it.
# `make load` writes its figures to docs/load.md; `make load-smoke` (CI) is the same for 10 s over 1,000 initiatives.
LOAD_ARGS ?=
.PHONY: load load-smoke
load: messages
	$(PY) -m bench.load --write-doc docs/load.md $(LOAD_ARGS)

load-smoke: messages
	$(PY) -m bench.load --smoke $(LOAD_ARGS)

# The long fuzzing run: every API operation with 200 generated requests each (the test suite runs 10).
FUZZ_EXAMPLES ?= 200
.PHONY: fuzz
fuzz: install
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_DERANDOMIZE=0 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest tests/api/test_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

# Production settings end to end (issue 19, bench/prod_smoke.py): `check --deploy` clean, gunicorn behind a proxy
# header, a worker and beat on PostgreSQL (database scorecard_prodsmoke) and Redis (db 12), all started and stopped
# by PID; checks the styled admin, HTTPS headers and cookies, /readyz 503 with the worker stopped and 200 again,
# and /metrics refusing an anonymous request. Fails loudly; about a minute.
PROD_SMOKE_ARGS ?=
.PHONY: prod-smoke
prod-smoke: messages
	$(PY) -m bench.prod_smoke $(PROD_SMOKE_ARGS)
