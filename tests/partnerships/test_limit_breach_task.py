"""The daily limit check: a breach is opened once per bank, limit and subject, its managers are e-mailed once (in
Chinese, naming the limit, the subject, the value and the threshold), it is resolved when the figure is back within,
and the initiatives concerned are scored again — in-process, under two concurrent runs, and through a real worker
with real Redis and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django_celery_beat.models import PeriodicTask

from partnerships.limit_text import describe_limit
from partnerships.models import LimitBreach, PartnerExposure
from partnerships.services.limit_breaches import limit_breaches_check
from scoring.choices import JobStatus
from scoring.models import Score, ScoreJob
from scoring.services.rubrics import rubrics_load
from tests.factories import InitiativeFactory, InitiativePartnerFactory, MembershipFactory, UserFactory
from tests.partnerships.limit_data import (
    AS_OF,
    bank_figures,
    expose,
    lending_bank,
    load_regulatory_limits,
    partner,
)
from tests.processes import wait_for
from tests.scoring.conftest import make_rated_initiative, private_broker, workers  # noqa: F401  (fixtures)


def _world(code="breach-bank"):
    """A bank with two managers (one without an address), an analyst, a month in which the 蚂蚁集团 group holds
    27 % of tier-1 capital (a breach of 25 %) and an initiative with one of its partners."""
    load_regulatory_limits()
    bank = lending_bank(code, name_zh_hans="甲城商行", name_en="Bank Jia")
    bank_figures(bank)
    managers = [UserFactory(username=f"{code}-m1"), UserFactory(username=f"{code}-m2", email="")]
    for user in managers:
        MembershipFactory(user=user, bank=bank, role="manager")
    MembershipFactory(user=UserFactory(username=f"{code}-a"), bank=bank, role="analyst")
    ant, mybank = partner("ant", group="蚂蚁集团"), partner("mybank", group="蚂蚁集团")
    expose(bank, ant, balance="250", funded="100")
    exposure = expose(bank, mybank, balance="200", funded="80")
    initiative = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=initiative, partner=mybank)
    return bank, initiative, exposure, managers


@pytest.mark.django_db
def test_a_new_breach_is_opened_mailed_once_in_chinese_and_resolved_when_within(taxonomy, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    rubrics_load(versions={1})
    bank, initiative, exposure, managers = _world()
    first = limit_breaches_check(as_of=AS_OF)
    breach = LimitBreach.objects.get()
    assert (breach.bank_id, breach.rule.key, breach.subject) == (
        bank.pk,
        "cn_2021_partner_capital_share",
        "蚂蚁集团",
    )
    assert (breach.value_percent, breach.threshold_percent) == (27, 25)
    assert breach.notified_at is not None and breach.resolved_at is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [managers[0].email]  # managers with an address only
    message = mail.outbox[0]
    assert "甲城商行" in message.subject
    assert "与单一合作方（含其关联方）联合贷款余额不超过一级资本净额的25%" in message.body
    assert "蚂蚁集团" in message.body and "27%" in message.body and "25%" in message.body
    assert "：" in message.body and ":" not in message.body.replace("://", "")
    assert first.rescored == {bank.pk: [initiative.pk]}
    job = ScoreJob.objects.get(bank=bank)  # (the rubrics' own re-score jobs have no bank)
    assert job.initiative_ids == [initiative.pk] and job.requested_by is None

    second = limit_breaches_check(as_of=AS_OF)  # the next day: the same breach, nothing new
    assert (second.opened, second.rescored, len(mail.outbox)) == ([], {}, 1)
    assert LimitBreach.objects.count() == 1 and ScoreJob.objects.filter(bank=bank).count() == 1

    PartnerExposure.objects.filter(pk=exposure.pk).update(balance=150)  # the group's own part 220: 22 %
    third = limit_breaches_check(as_of=AS_OF)
    breach.refresh_from_db()
    assert breach.resolved_at is not None and third.resolved == [breach.pk]
    assert third.rescored == {bank.pk: [initiative.pk]} and ScoreJob.objects.filter(bank=bank).count() == 2
    assert len(mail.outbox) == 1  # a resolution sends no mail

    PartnerExposure.objects.filter(pk=exposure.pk).update(
        balance=300
    )  # breached again: a new breach, a new mail
    limit_breaches_check(as_of=AS_OF)
    assert LimitBreach.objects.filter(resolved_at__isnull=True).count() == 1
    assert LimitBreach.objects.count() == 2 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_breach_that_becomes_unknown_stays_open(taxonomy):
    bank, _initiative, _exposure, _managers = _world()
    limit_breaches_check(as_of=AS_OF)
    bank.period_figures.update(tier1_net_capital=None)
    outcome = limit_breaches_check(as_of=AS_OF)
    assert outcome.resolved == [] and LimitBreach.objects.get().resolved_at is None


@pytest.mark.django_db
def test_the_breach_mail_reads_in_english_when_the_site_is_english(taxonomy, settings):
    settings.LANGUAGE_CODE = "en"
    _world()
    limit_breaches_check(as_of=AS_OF)
    body = mail.outbox[0].body
    assert "Joint lending with one partner and its related parties at most 25% of tier-1 net capital" in body
    assert "27%, over the maximum of 25%" in body


@pytest.mark.django_db
def test_the_daily_schedule_is_set_up_by_the_migration():
    # Run the migration's function again (idempotent): a transactional test earlier in the session flushes the rows
    # the migrations wrote.
    import importlib

    from django.apps import apps

    importlib.import_module("partnerships.migrations.0007_limit_check_schedule").create(apps, None)
    importlib.import_module("partnerships.migrations.0007_limit_check_schedule").create(apps, None)
    task = PeriodicTask.objects.get(task="partnerships.check_limits")
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("7", "0", "Asia/Shanghai")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_open_one_breach_and_send_one_mail(taxonomy):
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: row locks")
    _world("race-bank")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(5)
            limit_breaches_check(as_of=AS_OF)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert LimitBreach.objects.count() == 1 and len(mail.outbox) == 1


def test_the_task_through_a_real_worker_mails_once_and_rescores(taxonomy, workers, tmp_path):  # noqa: F811
    from partnerships.tasks import check_limits_task

    mailbox = tmp_path / "mail"
    workers(
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mailbox),
    )
    for job in rubrics_load(versions={1}).jobs:  # their (empty) re-score jobs settle first
        if job is not None:
            wait_for(
                lambda j=job: ScoreJob.objects.get(pk=j.pk).status == JobStatus.SUCCEEDED,
                60,
                message="rubric job",
            )
    load_regulatory_limits()
    bank = lending_bank(
        "worker-bank", name_zh_hans="乙农商行", name_en="Bank Yi", bank_type="rural_commercial"
    )
    bank_figures(bank)
    manager = UserFactory(username="worker-manager")
    MembershipFactory(user=manager, bank=bank, role="manager")
    initiative = make_rated_initiative(rating=4, compliance=4, bank=bank)
    from partnerships.models import TechPartner

    expose(bank, TechPartner.objects.get(key="tencent"), balance="600", funded="0")  # 60 % of capital

    check_limits_task.delay(as_of=AS_OF.isoformat())
    check_limits_task.delay(as_of=AS_OF.isoformat())  # a second run (a retry, a manual run): nothing twice

    def rescored():
        score = Score.objects.filter(initiative=initiative).order_by("-id").first()
        return score if score is not None and not score.gate_passed else None

    score = wait_for(rescored, 90, interval=0.5, message="the initiative re-scored after the breach")
    assert score.tier == "D" and score.failed_gates[0]["key"] == "compliance_readiness"
    breach = wait_for(
        lambda: LimitBreach.objects.filter(bank=bank, notified_at__isnull=False).first(),
        30,
        message="notified",
    )
    wait_for(lambda: ScoreJob.objects.filter(bank=bank).count() >= 1, 30, message="score job")
    import time

    time.sleep(3)  # let the second run finish
    files = sorted(mailbox.glob("*.log"))
    assert len(files) == 1, files
    text = files[0].read_text(encoding="utf-8")
    assert manager.email in text and LimitBreach.objects.filter(bank=bank).count() == 1
    assert "=?utf-8?" in text or "乙农商行" in text
    assert describe_limit(breach.detail, bank_name="乙农商行")  # the detail the mail was written from
