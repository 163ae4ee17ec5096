"""A real beat and a real worker, as subprocesses on the test database and the REDIS_URL broker.

An admin adds a schedule while beat is running (here: every 2 s, scoring.generate_report for one bank);
DatabaseScheduler picks it up, the worker builds the report, and the Report row turns ready within a minute.
"""

import json
import os

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from scoring.models import Report
from tests.factories import BankFactory, InitiativeFactory
from tests.processes import CeleryProcess, service_env, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_beat_picks_up_a_new_schedule_and_the_worker_builds_the_report(transactional_db, tmp_path):
    broker = os.environ.get("REDIS_URL")
    if not broker or not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.fail(
            "needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): subprocesses share the test database"
        )
    from django.core.management import call_command

    call_command("loaddata", "taxonomy", verbosity=0)
    bank = BankFactory(code="beat-bank")
    InitiativeFactory(bank=bank, code="beat-1", status="live")

    env = service_env(broker)
    worker = CeleryProcess("worker", env, tmp_path / "worker.log")
    beat = CeleryProcess("beat", env, tmp_path / "beat.log", "--max-interval", "1")
    try:
        worker.start()
        beat.start()
        every_two_seconds, _ = IntervalSchedule.objects.get_or_create(
            every=2, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name="test: beat-bank report every 2 s",
            task="scoring.generate_report",
            interval=every_two_seconds,
            kwargs=json.dumps({"bank_id": bank.pk, "period_start": "2024-11-13"}),
        )

        def ready():
            return Report.objects.filter(bank=bank, status="ready").first()

        try:
            report = wait_for(ready, 60, interval=0.5, message="a ready report from beat + worker")
        except AssertionError:
            logs = "\n".join(
                f"--- {p.log.name}\n{p.log.read_text(errors='replace')[-3000:]}" for p in (beat, worker)
            )
            raise AssertionError(f"no ready report within 60 s\n{logs}") from None
        assert str(report.period_start) == "2024-11-11"
        assert report.payload["scope"]["code"] == "beat-bank" and report.payload["scores"]["initiatives"] == 1
        assert "Sending due task test: beat-bank report every 2 s" in beat.log.read_text(errors="replace")
    finally:
        beat.stop()
        worker.stop()
