"""/healthz and /readyz: each part of readiness checked for real, and each failing part named in a 503.

The worker is a real Celery worker subprocess on a private Redis; the broker goes down by stopping that Redis; the
database goes down for a gunicorn whose DATABASE_URL points at a port nothing listens on; beat is late when the
sweeper's last run is older than its interval plus the grace.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest
from django.core.cache import cache

from config.ops.health import WORKER_CACHE_KEY
from tests.ops.conftest import set_last_run
from tests.processes import GunicornProcess, free_port, service_env

pytestmark = [pytest.mark.services]


def readyz(client, **extra):
    response = client.get("/readyz", **extra)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_healthz_answers_without_any_io_whatever_the_host(client):
    """No database access is allowed in this test (no db fixture): a query would raise here."""
    # A load balancer calls by address: a Host outside ALLOWED_HOSTS, plain HTTP, no session.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_healthz_and_readyz_refuse_other_methods(client):
    for path in ("/healthz", "/readyz"):
        response = client.post(path)
        assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


@pytest.mark.slow
def test_readyz_ready_then_each_of_beat_and_worker_named_when_it_fails(
    client, shared_redis, workers, sweeper, settings
):
    settings.READYZ_WORKER_CACHE_SECONDS = 0  # every call pings: each state change shows at once
    worker = workers()

    status, body = readyz(client, HTTP_HOST="10.1.2.3")
    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert {name: part["status"] for name, part in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "beat": "ok",
    }
    assert body["checks"]["beat"]["task"] == "scoring.sweep_score_jobs"
    assert body["checks"]["beat"]["allowed_seconds"] == 60 + settings.READYZ_BEAT_GRACE_SECONDS

    # Beat stopped long enough ago: the sweeper (every 60 s) last ran 200 s ago.
    set_last_run(sweeper, seconds_ago=200)
    status, body = readyz(client)
    assert status == 503, body
    assert body["status"] == "fail" and body["failing"] == ["beat"]
    assert "scoring.sweep_score_jobs" in body["checks"]["beat"]["error"]

    # Beat back; the worker stopped.
    set_last_run(sweeper, seconds_ago=1)
    worker.stop()
    status, body = readyz(client)
    assert status == 503, body
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"]["error"] == "no worker answered a ping within 2 s"


@pytest.mark.slow
def test_the_worker_ping_is_cached_for_a_short_time(client, shared_redis, sweeper, settings):
    """No worker at all: the first call waits for the ping's timeout, the calls after it answer from the cache
    at once (a load balancer may ask every few seconds), and a new ping is made once the cache has expired."""
    settings.READYZ_WORKER_TIMEOUT = 1.0
    settings.READYZ_WORKER_CACHE_SECONDS = 3.0

    started = time.monotonic()
    status, body = readyz(client)
    first = time.monotonic() - started
    assert status == 503 and body["failing"] == ["worker"]
    assert body["checks"]["worker"]["cached"] is False and first >= 1.0
    assert cache.get(WORKER_CACHE_KEY)["status"] == "fail"

    started = time.monotonic()
    status, body = readyz(client)
    assert time.monotonic() - started < 0.5
    assert status == 503 and body["checks"]["worker"]["cached"] is True

    time.sleep(3.2)
    status, body = readyz(client)
    assert body["checks"]["worker"]["cached"] is False


def test_readyz_names_the_broker_and_says_no_worker_can_be_reached_when_redis_is_down(
    client, shared_redis, sweeper, settings
):
    settings.READYZ_WORKER_CACHE_SECONDS = 0
    shared_redis.stop()

    started = time.monotonic()
    status, body = readyz(client)
    assert time.monotonic() - started < 3, "a health check must answer at once, not retry for seconds"
    assert status == 503
    assert body["failing"] == ["broker", "worker"]
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["beat"]["status"] == "ok"
    assert body["checks"]["broker"]["error"] == "OperationalError"
    assert "broker unavailable" in body["checks"]["worker"]["error"]
    # No address, port or URL of the broker in an answer anyone may read.
    text = json.dumps(body)
    assert str(shared_redis.port) not in text and "redis://" not in text and "127.0.0.1" not in text


def test_readyz_names_beat_when_no_task_ever_ran_and_its_schedule_is_older_than_allowed(
    client, shared_redis, sweeper, settings
):
    """A fresh installation whose beat never started: ``last_run_at`` is empty and the schedule was written ten
    minutes ago."""
    import datetime

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    settings.READYZ_WORKER_CACHE_SECONDS = 0
    settings.READYZ_WORKER_TIMEOUT = 0.2
    PeriodicTask.objects.filter(pk=sweeper.pk).update(
        last_run_at=None, date_changed=timezone.now() - datetime.timedelta(minutes=10)
    )
    status, body = readyz(client)
    assert status == 503 and "beat" in body["failing"]
    assert body["checks"]["beat"]["last_run_seconds_ago"] is None

    # Just written (a fresh migrate): not late before its first interval has passed.
    PeriodicTask.objects.filter(pk=sweeper.pk).update(date_changed=timezone.now())
    status, body = readyz(client)
    assert body["checks"]["beat"]["status"] == "ok"


def test_beat_is_judged_by_the_freshest_of_the_tasks_that_share_the_shortest_interval(db, sweeper, settings):
    """Two every-minute tasks: beat sends both, so one recent run shows it alive even if the other lags; both late
    names the later of the two; a slower task (hourly) never decides while a faster one exists."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from config.ops.health import check_beat

    minute = IntervalSchedule.objects.get(every=60, period=IntervalSchedule.SECONDS)
    hour, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    other = PeriodicTask.objects.create(name="another minute task", task="tests.other", interval=minute)
    hourly = PeriodicTask.objects.create(name="an hourly task", task="tests.hourly", interval=hour)
    grace = settings.READYZ_BEAT_GRACE_SECONDS

    set_last_run(sweeper, seconds_ago=60 + grace + 100)
    set_last_run(other, seconds_ago=5)
    set_last_run(hourly, seconds_ago=10)
    result = check_beat(database_ok=True)
    assert result["status"] == "ok" and result["task"] == "tests.other"

    set_last_run(other, seconds_ago=60 + grace + 50)
    result = check_beat(database_ok=True)
    assert result["status"] == "fail" and result["task"] == "tests.other"
    assert result["interval_seconds"] == 60


@pytest.mark.slow
def test_readyz_names_the_database_when_it_is_unreachable(tmp_path):
    """gunicorn with a DATABASE_URL nothing answers: /healthz still 200, /readyz 503 naming the database (and beat,
    whose schedule lives there), as JSON with no host, port or user in it — not a 500."""
    broker = os.environ.get("REDIS_URL")
    if not broker:
        pytest.fail("needs REDIS_URL: the broker part must be up while the database is down")
    dead_port = free_port()
    env = service_env(
        broker, DATABASE_URL=f"postgres://scorecard_user@127.0.0.1:{dead_port}/scorecard_nowhere"
    )
    server = GunicornProcess(env, tmp_path / "gunicorn.log", workers=1).start()
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/readyz", timeout=20)
        assert refused.value.code == 503
        body = json.loads(refused.value.read())
        assert "database" in body["failing"] and "beat" in body["failing"]
        assert body["checks"]["database"]["error"] == "OperationalError"
        assert body["checks"]["broker"]["status"] == "ok"
        text = json.dumps(body)
        assert str(dead_port) not in text and "scorecard_user" not in text and "scorecard_nowhere" not in text
    finally:
        server.stop()
