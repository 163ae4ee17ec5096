"""Fixtures for the ops tests: real workers on a private Redis that is also the cache, and a beat that just ran.

The workers (tests/scoring/conftest.py) run as subprocesses on a private Redis server, which is their broker *and*
their cache (REDIS_URL). The test process is pointed at the same server for both, so what a worker counts in the
cache (ops.counters) is what /metrics reads here, and a ping goes where the worker listens.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.ops.health import WORKER_CACHE_KEY
from tests.scoring.conftest import private_broker, rubrics, workers  # noqa: F401  (fixtures)

SWEEPER = "scoring.sweep_score_jobs"


@pytest.fixture
def shared_redis(private_broker, settings):  # noqa: F811
    """The private Redis as this process' cache too (the workers' REDIS_URL is both)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": private_broker.url}
    }
    cache.delete(WORKER_CACHE_KEY)
    return private_broker


@pytest.fixture
def sweeper(db):
    """The every-minute sweeper schedule (scoring/migrations/0002), as beat leaves it right after a run."""
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    task, _ = PeriodicTask.objects.update_or_create(
        name="scoring: sweep score jobs left queued or stalled",
        defaults={"task": SWEEPER, "interval": every_minute, "enabled": True},
    )
    set_last_run(task, seconds_ago=5)
    # The sweeper alone judges beat in these tests (the webhook sweeper of partnerships/0010 runs every minute too,
    # and its migration time would otherwise decide): switched off inside the test's transaction.
    PeriodicTask.objects.exclude(pk=task.pk).update(enabled=False)
    return task


def set_last_run(task: PeriodicTask, *, seconds_ago: float) -> None:
    """What beat writes after sending the task (``update`` leaves ``date_changed`` where it is put)."""
    when = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=when, date_changed=when)
