"""Liveness and readiness: what /healthz and /readyz answer (ops.middleware serves them).

/healthz says the process answers: no I/O at all. /readyz checks, each on its own and named in the answer:

- ``database``: ``SELECT 1`` on the default database;
- ``broker``: a connection to the Celery broker and the length of the default queue (Redis, or the embedded
  filesystem broker of ``make run``);
- ``worker``: at least one Celery worker answered a ping (remote control) within ``READYZ_WORKER_TIMEOUT``
  seconds. The answer — or its absence — is kept in the cache for ``READYZ_WORKER_CACHE_SECONDS`` (shared by every
  web process on Redis), so calling /readyz every few seconds costs one ping per interval, not one per call;
- ``beat``: the most frequent enabled periodic tasks on an interval schedule (the score-job and webhook sweepers,
  every minute, scoring/migrations/0002 and partnerships/migrations/0010): the one that ran last did so no longer
  ago than its interval plus ``READYZ_BEAT_GRACE_SECONDS``.
  Beat records each run in ``PeriodicTask.last_run_at`` (``CELERY_BEAT_SYNC_EVERY = 1``: right after sending the
  task). A task created or changed since then (``date_changed``) counts from that moment, as beat itself counts:
  a fresh installation is not "late" before its first interval has passed.

The answer names no host, user, address or URL: a failed part gives the exception's class only (the server's
log has the message).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

logger = logging.getLogger(__name__)

OK, FAIL, SKIPPED = "ok", "fail", "skipped"
WORKER_CACHE_KEY = "ops:readyz:worker"


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _failed(part: str, exc: Exception, **extra) -> dict:
    logger.warning("readyz: %s check failed: %s: %s", part, type(exc).__name__, exc)
    return {"status": FAIL, "error": type(exc).__name__, **extra}


def check_database() -> dict:
    start = time.monotonic()
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to answer is "not ready"
        return _failed("database", exc)
    return {"status": OK, "ms": _ms(start)}


def broker_queue_lengths(queues: list[str] | None = None) -> dict[str, int]:
    """Messages waiting in each queue (default: every queue the app routes to), read from the broker now."""
    from config.celery_app import app

    names = queues or sorted(app.amqp.queues.keys()) or [app.conf.task_default_queue]
    with app.connection_for_write() as conn:
        # One try, no waiting between tries: a health check answers now (kombu would retry for seconds).
        conn.ensure_connection(max_retries=0, interval_start=0, timeout=3)
        channel = conn.default_channel
        # A non-passive declare creates nothing on Redis or the filesystem broker and returns the length.
        return {name: channel.queue_declare(queue=name, passive=False).message_count for name in names}


def check_broker() -> dict:
    start = time.monotonic()
    try:
        lengths = broker_queue_lengths()
    except Exception as exc:
        return _failed("broker", exc)
    return {"status": OK, "ms": _ms(start), "queued_messages": sum(lengths.values())}


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception as exc:  # the cache is Redis too: when it is down, check without it
        logger.warning("readyz: cache unavailable (%s)", type(exc).__name__)
        return None


def _cache_set(key: str, value, seconds: float) -> None:
    try:
        cache.set(key, value, timeout=max(1, round(seconds + 0.5)))
    except Exception as exc:
        logger.warning("readyz: cache unavailable (%s)", type(exc).__name__)


def ping_workers() -> dict:
    """Ping the workers now (returns at the first answer, or after the timeout)."""
    from config.celery_app import app

    timeout = settings.READYZ_WORKER_TIMEOUT
    start = time.monotonic()
    try:
        replies = app.control.ping(timeout=timeout, limit=1)
    except Exception as exc:
        return _failed("worker", exc, checked_at=time.time())
    result = {"status": OK if replies else FAIL, "ms": _ms(start), "checked_at": time.time()}
    if not replies:
        result["error"] = f"no worker answered a ping within {timeout:g} s"
    return result


def check_worker(*, broker_ok: bool) -> dict:
    if not broker_ok:
        return {"status": FAIL, "error": "broker unavailable: no worker can be reached"}
    max_age = settings.READYZ_WORKER_CACHE_SECONDS
    cached = _cache_get(WORKER_CACHE_KEY) if max_age > 0 else None
    if isinstance(cached, dict) and time.time() - cached.get("checked_at", 0) <= max_age:
        result = dict(cached, cached=True)
    else:
        result = ping_workers()
        if max_age > 0:
            _cache_set(WORKER_CACHE_KEY, result, max_age)
        result = dict(result, cached=False)
    result["checked_seconds_ago"] = round(max(0.0, time.time() - result.pop("checked_at")), 1)
    return result


def _interval_seconds(interval) -> float:
    return timedelta(**{interval.period: interval.every}).total_seconds()


def _since(task):
    """When beat last ran the task, or when it was created or changed if that is later (beat counts from there)."""
    return max(t for t in (task.last_run_at, task.date_changed) if t is not None)


def check_beat(*, database_ok: bool) -> dict:
    if not database_ok:
        return {"status": FAIL, "error": "database unavailable: beat's last run cannot be read"}
    from django.db.models import Q
    from django_celery_beat.models import PeriodicTask

    now = timezone.now()
    try:
        rows = list(
            PeriodicTask.objects.filter(enabled=True, one_off=False, interval__isnull=False)
            .filter(Q(start_time__isnull=True) | Q(start_time__lte=now))
            .filter(Q(expires__isnull=True) | Q(expires__gt=now))
            .select_related("interval")
        )
    except Exception as exc:
        return _failed("beat", exc)
    if not rows:
        return {
            "status": SKIPPED,
            "note": "no enabled periodic task on an interval schedule to judge beat by",
        }
    # The most frequent interval judges beat; among the tasks that share it (the score-job and webhook sweepers both
    # run every minute), the one beat touched last: a live beat sends them all, so one fresh run shows it ticking.
    interval = min(_interval_seconds(row.interval) for row in rows)
    task, since = max(
        ((row, _since(row)) for row in rows if _interval_seconds(row.interval) == interval),
        key=lambda pair: pair[1],
    )
    allowed = interval + settings.READYZ_BEAT_GRACE_SECONDS
    age = (now - since).total_seconds()
    result = {
        "status": OK if age <= allowed else FAIL,
        "task": task.task,
        "interval_seconds": round(interval),
        "last_run_seconds_ago": round(age) if task.last_run_at else None,
        "allowed_seconds": round(allowed),
    }
    if result["status"] == FAIL:
        result["error"] = f"beat has not run {task.task} for {round(age)} s (allowed {round(allowed)} s)"
    return result


def readiness() -> tuple[bool, dict]:
    """(ready, the JSON body): every part ok (or skipped) makes the service ready."""
    database = check_database()
    broker = check_broker()
    checks = {
        "database": database,
        "broker": broker,
        "worker": check_worker(broker_ok=broker["status"] == OK),
        "beat": check_beat(database_ok=database["status"] == OK),
    }
    ready = all(part["status"] in (OK, SKIPPED) for part in checks.values())
    failing = [name for name, part in checks.items() if part["status"] == FAIL]
    return ready, {"status": "ok" if ready else "fail", "failing": failing, "checks": checks}
