"""Re-assessment cadence (docs/lifecycle.md): the next date from the last approval, the bank's policy by tier and
criticality (unknown counting as critical), never-approved initiatives due at once, severe events requiring it —
compared with dates computed here by hand — the admin's list column and filter, and the weekly reminder sent once."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from partnerships.choices import SEVERE, Severity
from partnerships.errors import Forbidden, Invalid
from partnerships.lifecycle import reassessment_annotate
from partnerships.models import Initiative, MonitoringEvent, PartnershipContract, ReassessmentReminder
from partnerships.services.lifecycle import reassessment_policy_set, reassessment_reminders_send
from partnerships.tasks import send_reassessment_reminders_task
from scoring.models import SevereSinceApproval
from tests.lifecycle.helpers import approve_on, initiative_with

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 10)  # a Wednesday


def _row(initiative, today=TODAY):
    return reassessment_annotate(Initiative.objects.filter(pk=initiative.pk), today=today).get()


def _contract(initiative, critical):
    return PartnershipContract.objects.create(initiative=initiative, critical_function=critical)


@pytest.mark.parametrize(
    ("tier", "critical", "months"),
    [
        ("A", "no", 24),
        ("B", "no", 24),
        ("C", "no", 12),
        ("D", "no", 6),
        (None, "no", 6),  # no score: as tier D
        ("A", "yes", 6),
        ("A", "unknown", 6),  # unknown counts as critical
        ("A", None, 6),  # no contract: unknown, critical
    ],
)
def test_the_next_date_follows_tier_and_criticality_with_the_default_policy(
    rubrics, two_banks, tier, critical, months
):
    banks, _users = two_banks
    approved = datetime.date(2025, 1, 31)
    initiative = initiative_with(banks["A"], tier=tier, approved=approved)
    if critical is not None:
        _contract(initiative, critical)
    row = _row(initiative)
    assert row.last_approved_on == approved
    assert row.next_reassessment_on == approved + relativedelta(months=months)  # 31 Jan + 1 month: end of Feb
    expected_state = (
        "overdue"
        if row.next_reassessment_on < TODAY
        else ("due" if row.next_reassessment_on <= TODAY + datetime.timedelta(days=30) else "not_due")
    )
    assert row.reassessment_state == expected_state and not row.reassessment_required


def test_a_banks_policy_is_data_and_only_managers_set_it(rubrics, two_banks):
    banks, users = two_banks
    with pytest.raises(Forbidden):
        reassessment_policy_set(user=users[("A", "analyst")], bank=banks["A"], data={"months_c": 3})
    with pytest.raises(Invalid) as refused:
        reassessment_policy_set(user=users[("A", "manager")], bank=banks["A"], data={"months_c": 0})
    assert "months_c" in refused.value.fields
    reassessment_policy_set(
        user=users[("A", "manager")], bank=banks["A"], data={"months_c": 3, "months_critical": 2}
    )
    approved = datetime.date(2026, 1, 15)
    c_tier = initiative_with(banks["A"], tier="C", approved=approved)
    _contract(c_tier, "no")
    critical = initiative_with(banks["A"], tier="C", approved=approved)  # no contract: critical → min(3, 2)
    other_bank = initiative_with(banks["B"], tier="C", approved=approved)
    _contract(other_bank, "no")
    assert _row(c_tier).next_reassessment_on == datetime.date(2026, 4, 15)
    assert _row(critical).next_reassessment_on == datetime.date(2026, 3, 15)
    assert _row(other_bank).next_reassessment_on == datetime.date(2027, 1, 15)  # bank B: the defaults


def test_the_latest_approval_resets_the_date_and_other_statuses_do_not(rubrics, two_banks):
    banks, _users = two_banks
    initiative = initiative_with(banks["A"], tier="C", approved=datetime.date(2024, 3, 1))
    _contract(initiative, "no")
    assert _row(initiative).next_reassessment_on == datetime.date(2025, 3, 1)
    assert _row(initiative).reassessment_state == "overdue"
    approve_on(initiative, datetime.date(2026, 6, 1))
    from scoring.models import Assessment

    Assessment.objects.create(  # a draft written later changes nothing
        initiative=initiative,
        rubric_version=Assessment.objects.first().rubric_version,
        author=initiative.owner or Assessment.objects.first().author,
    )
    row = _row(initiative)
    assert (row.next_reassessment_on, row.reassessment_state) == (datetime.date(2027, 6, 1), "not_due")


def test_never_approved_is_due_from_the_day_it_was_recorded(rubrics, two_banks):
    banks, _users = two_banks
    initiative = initiative_with(banks["A"], tier="A")
    recorded = timezone.localdate(initiative.created_at)
    assert _row(initiative, today=recorded).reassessment_state == "due"
    assert _row(initiative, today=recorded + datetime.timedelta(days=1)).reassessment_state == "overdue"
    assert _row(initiative, today=recorded).next_reassessment_on == recorded


def test_a_severe_event_after_the_approval_requires_re_assessment(rubrics, two_banks):
    banks, _users = two_banks
    initiative = initiative_with(banks["A"], tier="A", approved=datetime.date(2026, 1, 10))
    _contract(initiative, "no")
    assert _row(initiative).next_reassessment_on == datetime.date(2028, 1, 10)
    MonitoringEvent.objects.create(
        initiative=initiative,
        kind="incident",
        occurred_on=datetime.date(2026, 5, 2),
        severity="medium",
        description="x",
    )
    assert not _row(initiative).reassessment_required
    MonitoringEvent.objects.create(
        initiative=initiative,
        kind="regulatory_finding",
        occurred_on=datetime.date(2026, 5, 3),
        severity="critical",
        description="监管通报",
    )
    row = _row(initiative)
    assert row.reassessment_required and row.next_reassessment_on == datetime.date(2026, 5, 3)
    assert row.reassessment_state == "overdue"
    approve_on(initiative, timezone.localdate() + datetime.timedelta(days=1))  # after the event was recorded
    assert not _row(initiative).reassessment_required


@pytest.mark.parametrize("severity", [s.value for s in Severity])
def test_the_views_severities_are_those_that_require_re_assessment(rubrics, two_banks, severity):
    """The view scoring.SevereSinceApproval names its severities in SQL (scoring/migrations/0010): they must be
    ``partnerships.choices.SEVERE``, whatever is added to the choices later — and the earliest such event counts."""
    banks, _users = two_banks
    initiative = initiative_with(banks["A"], tier="B")
    for day in (5, 3):
        MonitoringEvent.objects.create(
            initiative=initiative,
            kind="incident",
            occurred_on=datetime.date(2026, 5, day),
            severity=severity,
            description="事件",
        )
    row = SevereSinceApproval.objects.filter(initiative=initiative).first()
    if severity in SEVERE:
        assert row is not None and row.required_since == datetime.date(2026, 5, 3)
    else:
        assert row is None
    assert _row(initiative).reassessment_required is (severity in SEVERE)


def test_a_retired_initiative_is_never_due(rubrics, two_banks):
    banks, _users = two_banks
    initiative = initiative_with(banks["A"], tier="D", status="retired")
    assert _row(initiative).reassessment_state is None


# --- the admin --------------------------------------------------------------------------------------------------------
def test_the_initiatives_list_shows_the_date_and_filters_by_state(rubrics, two_banks):
    banks, users = two_banks
    overdue = initiative_with(banks["A"], tier="C", approved=datetime.date(2020, 1, 1), code="late-one")
    fine = initiative_with(banks["A"], tier="A", approved=timezone.localdate(), code="fresh-one")
    _contract(fine, "no")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users[("A", "viewer")])
    url = reverse("admin:partnerships_initiative_changelist")
    page = client.get(url, {"reassessment": "overdue"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "late-one" in text and "fresh-one" not in text
    assert "2020-07-01（已逾期）" in text and "下次复评" in text
    text = client.get(url, {"reassessment": "not_due"}).content.decode()
    assert "fresh-one" in text and "late-one" not in text
    assert overdue.pk  # used


# --- the weekly reminder ----------------------------------------------------------------------------------------------
def test_the_weekly_reminder_goes_to_managers_and_owners_once_a_week(
    rubrics, two_banks, mailoutbox, settings
):
    settings.LANGUAGE_CODE = "zh-hans"
    banks, users = two_banks
    owner = users[("A", "analyst")]
    late = initiative_with(banks["A"], tier="C", approved=datetime.date(2024, 1, 1), owner=owner, code="late")
    soon = initiative_with(
        banks["A"], tier="C", approved=datetime.date(2025, 6, 20), code="soon"
    )  # 6-20 critical: 2025-12-20
    _contract(soon, "no")  # 12 months: 2026-06-20, within 30 days of 06-10
    fine = initiative_with(banks["A"], tier="A", approved=datetime.date(2026, 6, 1), code="fine")
    _contract(fine, "no")
    _contract(late, "no")
    initiative_with(banks["B"], tier="A", approved=datetime.date(2026, 6, 1), code="b-fine")

    assert (
        reassessment_reminders_send(today=TODAY) == 2
    )  # A's manager (both) and the owner (late); B: none due
    by_address = {m.to[0]: m for m in mailoutbox}
    manager = by_address[users[("A", "manager")].email]
    assert "1项已逾期，1项30天内到期" in manager.subject
    assert "late" in manager.body and "soon" in manager.body and "fine" not in manager.body
    assert "已逾期" in manager.body and "：" in manager.body
    mine = by_address[owner.email]
    assert "late" in mine.body and "soon" not in mine.body
    rows = ReassessmentReminder.objects.order_by("bank__code")
    assert [(r.bank.code, r.week, r.initiatives, r.messages) for r in rows] == [
        ("bank-a", datetime.date(2026, 6, 8), 2, 2),
        ("bank-b", datetime.date(2026, 6, 8), 0, 0),
    ]
    # the same week again (a retry, a second beat): nothing
    assert reassessment_reminders_send(today=TODAY + datetime.timedelta(days=2)) == 0
    assert send_reassessment_reminders_task.run(today=TODAY.isoformat()) == 0
    assert len(mailoutbox) == 2
    # next week: again
    assert reassessment_reminders_send(today=TODAY + datetime.timedelta(days=7)) == 2


def test_the_reminder_is_in_english_when_the_site_is(rubrics, two_banks, mailoutbox):
    banks, _users = two_banks
    initiative_with(banks["A"], tier="C", approved=datetime.date(2024, 1, 1), code="late")
    reassessment_reminders_send(today=TODAY, language="en")
    assert mailoutbox[0].subject == "Re-assessments at Bank A: 1 overdue, 0 due within 30 days"
    assert "late" in mailoutbox[0].body and "Overdue, due on 2024-07-01" in mailoutbox[0].body


def test_the_reminder_is_scheduled_weekly(db):
    # Run the migration's function again (idempotent): a transactional test earlier in the session flushes the rows
    # the migrations wrote.
    import importlib

    from django.apps import apps

    migration = importlib.import_module("partnerships.migrations.0011_lifecycle")
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    task = PeriodicTask.objects.get(task="partnerships.send_reassessment_reminders")
    assert (task.crontab.day_of_week, task.crontab.hour, task.crontab.minute) == ("1", "8", "0")
    assert str(task.crontab.timezone) == "Asia/Shanghai"
