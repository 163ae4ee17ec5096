"""Report services, tasks, the operator command, the schedules and the stale-score sweep."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from scoring.choices import JobKind
from scoring.errors import ServiceError
from scoring.models import Report, ScoreJob
from scoring.reports import services
from scoring.reports.render import report_render
from scoring.reports.services import (
    last_complete_week_start,
    report_generate,
    report_list_for,
    stale_scores_sweep,
)
from scoring.services.compute import score_initiatives
from scoring.tasks import generate_report_task, generate_weekly_reports_task, sweep_stale_scores_task
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def test_weeks_are_iso_weeks_in_shanghai():
    # Monday 2024-11-18 00:30 in Shanghai is still Sunday 16:30 UTC: the week that ended is 11-11 … 11-17.
    assert last_complete_week_start(datetime.datetime(2024, 11, 17, 16, 30, tzinfo=UTC)) == datetime.date(
        2024, 11, 11
    )
    # Sunday 23:00 in Shanghai: that week has not ended yet.
    assert last_complete_week_start(datetime.datetime(2024, 11, 17, 15, 0, tzinfo=UTC)) == datetime.date(
        2024, 11, 4
    )
    assert services.week_bounds(datetime.date(2024, 11, 17)) == (
        datetime.date(2024, 11, 11),
        datetime.date(2024, 11, 17),
    )


def test_generation_is_idempotent_per_kind_scope_and_week(portfolio):
    banks, _users, _i = portfolio
    first = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 13), deliver=False)
    assert (first.status, first.period_start, first.period_end) == (
        "ready",
        datetime.date(2024, 11, 11),
        datetime.date(2024, 11, 17),
    )
    assert first.language == "zh-hans" and "<svg" in first.html and first.attempts == 1
    again = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 17), deliver=False)
    assert again.pk == first.pk and again.generated_at == first.generated_at and again.attempts == 1
    rebuilt = report_generate(
        bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), force=True, deliver=False
    )
    assert rebuilt.pk == first.pk and rebuilt.generated_at > first.generated_at and rebuilt.attempts == 2
    everyone = report_generate(bank_id=None, period_start=datetime.date(2024, 11, 11), deliver=False)
    assert (
        report_generate(bank_id=None, period_start=datetime.date(2024, 11, 15), deliver=False).pk
        == everyone.pk
    )
    assert Report.objects.count() == 2


def test_a_failure_is_recorded_and_a_retry_recovers(portfolio, monkeypatch):
    banks, _users, _i = portfolio

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    real = services.report_payload_build
    monkeypatch.setattr(services, "report_payload_build", broken)
    with pytest.raises(RuntimeError):
        report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    failed = Report.objects.get(bank=banks["A"])
    assert failed.status == "failed" and "disk on fire" in failed.error

    monkeypatch.setattr(services, "report_payload_build", real)
    ready = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    assert ready.pk == failed.pk and ready.status == "ready" and ready.error == "" and ready.attempts == 2


def test_unknown_bank_or_kind_is_refused(portfolio):
    with pytest.raises(ServiceError):
        report_generate(bank_id=999_999, period_start=datetime.date(2024, 11, 11))
    with pytest.raises(ServiceError):
        report_generate(kind="monthly", bank_id=None, period_start=datetime.date(2024, 11, 11))
    assert not Report.objects.exists()


def test_report_list_for_scopes_by_membership(portfolio):
    banks, users, _i = portfolio
    a = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    b = report_generate(bank_id=banks["B"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    everyone = report_generate(bank_id=None, period_start=datetime.date(2024, 11, 11), deliver=False)
    assert list(report_list_for(users[("A", "viewer")])) == [a]
    assert list(report_list_for(users[("B", "manager")])) == [b]
    root = UserFactory(username="root", is_superuser=True)
    assert set(report_list_for(root)) == {a, b, everyone}
    assert list(report_list_for(root, bank_id=banks["B"].pk)) == [b]
    assert services.report_get_for(users[("A", "viewer")], b.pk) is None
    assert services.report_get_for(users[("A", "viewer")], "not-a-number") is None


def test_page_escapes_user_text_and_renders_in_the_readers_language(portfolio):
    banks, _users, i = portfolio
    i["a1"].title = "<script>alert('x')</script>"
    i["a1"].save()
    report = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    assert "<script" not in report.html and "&lt;script&gt;" in report.html
    english = report_render(report.payload, language="en")
    assert "Partner concentration" in english and "Tencent" in english and "<script" not in english
    assert english.count("<svg") == 4  # tiers, histogram, pillars, partners
    assert "@media print" in english


def test_failed_gates_from_the_real_engine(portfolio):
    banks, _users, _i = portfolio
    unrated = InitiativeFactory(bank=banks["A"], code="engine-1", pillar_id="smart_banking", status="pilot")
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[unrated.pk])
    report = report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 11), deliver=False)
    item = next(x for x in report.payload["failed_gates"]["items"] if x["code"] == "engine-1")
    assert item["tier"] == "D"
    assert [(g["key"], g["reason"], g["name_zh_hans"]) for g in item["gates"]] == [
        ("compliance_readiness", "unrated", "合规就绪")
    ]


def test_command_builds_a_report_and_names_bad_arguments(portfolio, capsys):
    banks, _users, _i = portfolio
    call_command("generate_report", "--bank", "bank-a", "--period", "2024-11-13", "--no-email")
    assert "ready" in capsys.readouterr().out
    assert Report.objects.get(bank=banks["A"]).period_start == datetime.date(2024, 11, 11)
    call_command("generate_report", "--all-banks", "--period", "2024-11-13", "--no-email")
    assert Report.objects.filter(bank__isnull=True, status="ready").count() == 1

    with pytest.raises(CommandError, match="--bank 'nope'"):
        call_command("generate_report", "--bank", "nope")
    with pytest.raises(CommandError, match="--period '2024-02-30'"):
        call_command("generate_report", "--bank", "bank-a", "--period", "2024-02-30")
    with pytest.raises(CommandError):
        call_command("generate_report", "--bank", "bank-a", "--all-banks")


def test_report_task_builds_the_report(portfolio):
    banks, _users, _i = portfolio
    generate_report_task.run(bank_id=banks["A"].pk, period_start="2024-11-13")
    assert Report.objects.get(bank=banks["A"]).status == "ready"


def test_weekly_task_enqueues_one_report_per_bank_and_the_all_banks_one(
    portfolio, monkeypatch, django_capture_on_commit_callbacks
):
    banks, _users, _i = portfolio
    sent = []
    monkeypatch.setattr(generate_report_task, "apply_async", lambda *a, **kw: sent.append(kw["kwargs"]))
    with django_capture_on_commit_callbacks(execute=True):
        assert generate_weekly_reports_task.run(period_start="2024-11-13") == 3
    assert sorted((k["bank_id"] or 0, k["period_start"]) for k in sent) == [
        (0, "2024-11-11"),
        (banks["A"].pk, "2024-11-11"),
        (banks["B"].pk, "2024-11-11"),
    ]


def test_sweep_creates_score_jobs_for_never_scored_and_outdated(
    portfolio, django_capture_on_commit_callbacks
):
    banks, _users, i = portfolio
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs = stale_scores_sweep()
    # Bank A: a7 (never scored) and a8 (older version). a9 is merely old (same version: a re-score would
    # write nothing new); a10 is retired. Bank B's b1 is current.
    assert [(j.bank_id, j.kind, j.initiative_ids) for j in jobs] == [
        (banks["A"].pk, JobKind.SWEEP, sorted([i["a7"].pk, i["a8"].pk]))
    ]
    assert len(callbacks) == 1  # enqueued after commit
    assert stale_scores_sweep() == []  # the bank's sweep job is still queued: no pile-up
    assert ScoreJob.objects.filter(kind=JobKind.SWEEP).count() == 1
    assert sweep_stale_scores_task.run() == 0


def test_schedules_migration_creates_the_weekly_and_nightly_tasks(db):
    migration = importlib.import_module("scoring.migrations.0004_report_schedules")
    PeriodicTask.objects.filter(name__in=[migration.WEEKLY, migration.NIGHTLY]).delete()
    migration.create(apps, None)
    migration.create(apps, None)  # idempotent
    weekly = PeriodicTask.objects.get(name="reports: weekly portfolio report per bank")
    assert weekly.task == "scoring.generate_weekly_reports" and weekly.enabled
    cron = weekly.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == ("0", "8", "1", "Asia/Shanghai")
    nightly = PeriodicTask.objects.get(task="scoring.sweep_stale_scores")
    assert (nightly.crontab.hour, nightly.crontab.minute, nightly.crontab.day_of_week) == ("2", "0", "*")
