"""The lifecycle's one door (partnerships.services.lifecycle) and its API: every rule refused with field messages
(never a 500 or a half-written row), tenancy, a change asking for the score again, and the webhook events."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from partnerships.errors import Forbidden, Invalid
from partnerships.models import MonitoringEvent, PartnershipContract, WebhookDelivery
from partnerships.services.lifecycle import (
    contract_create,
    contract_update,
    monitoring_event_create,
    monitoring_event_update,
)
from partnerships.services.webhooks import webhook_endpoint_create
from scoring.models import ScoreJob
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/"


@pytest.fixture
def scene(two_banks):
    banks, users = two_banks
    return banks, users, InitiativeFactory(bank=banks["A"], code="a1"), InitiativeFactory(bank=banks["B"])


def _event(**over):
    return {
        "kind": "incident",
        "occurred_on": datetime.date(2026, 1, 5),
        "severity": "high",
        "description": "核心系统中断4小时",
        **over,
    }


def test_events_are_checked_field_by_field(scene):
    _banks, users, a1, b1 = scene
    analyst = users[("A", "analyst")]
    today = timezone.localdate()
    cases = [
        ({"occurred_on": today + datetime.timedelta(days=1)}, "occurred_on"),
        ({"remediation_due_on": datetime.date(2026, 1, 1)}, "remediation_due_on"),
        ({"severity": "catastrophic"}, "severity"),
        ({"kind": "rumour"}, "kind"),
        ({"description": ""}, "description"),
        ({"remediation_owner": users[("B", "analyst")].pk}, "remediation_owner"),
        ({"status": "open", "closed_on": datetime.date(2026, 2, 1)}, "closed_on"),
        ({"status": "closed", "closed_on": datetime.date(2026, 1, 1)}, "closed_on"),
    ]
    for over, field in cases:
        with pytest.raises(Invalid) as refused:
            monitoring_event_create(user=analyst, initiative=a1, data=_event(**over))
        assert field in refused.value.fields, (over, refused.value.fields)
    with pytest.raises(Invalid) as refused:  # another bank's initiative reads like a missing one
        monitoring_event_create(user=analyst, initiative=b1, data=_event())
    assert "initiative" in refused.value.fields
    with pytest.raises(Invalid):
        monitoring_event_create(user=users[("A", "viewer")], initiative=a1, data=_event())
    assert not MonitoringEvent.objects.exists()


def test_closing_dates_the_event_and_reopening_clears_it(scene):
    _banks, users, a1, _b1 = scene
    analyst = users[("A", "analyst")]
    event = monitoring_event_create(user=analyst, initiative=a1, data=_event(remediation_owner=analyst.pk))
    assert (event.created_by, event.status, event.remediation_owner) == (analyst, "open", analyst)
    closed = monitoring_event_update(user=analyst, event=event, data={"status": "closed"})
    assert closed.closed_on == timezone.localdate()
    reopened = monitoring_event_update(user=analyst, event=event, data={"status": "remediating"})
    assert reopened.closed_on is None
    with pytest.raises(Forbidden):
        monitoring_event_update(user=users[("A", "viewer")], event=event, data={"status": "closed"})


def test_a_change_asks_for_the_score_and_emits_the_webhook_event(
    scene, rubrics, django_capture_on_commit_callbacks
):
    banks, users, a1, _b1 = scene
    webhook_endpoint_create(
        user=users[("A", "manager")],
        data={
            "bank": banks["A"].pk,
            "url": "https://hooks.example.com/x",
            "events": ["monitoring_event.created"],
        },
    )
    before = set(ScoreJob.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks():
        event = monitoring_event_create(user=users[("A", "analyst")], initiative=a1, data=_event())
    (job,) = ScoreJob.objects.exclude(pk__in=before)
    assert job.initiative_ids == [a1.pk]
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "monitoring_event.created"
    assert delivery.payload["data"]["id"] == event.pk and delivery.payload["data"]["severity"] == "high"


def test_contracts_are_checked_and_one_per_initiative(scene):
    _banks, users, a1, b1 = scene
    analyst = users[("A", "analyst")]
    today = timezone.localdate()
    cases = [
        ({"exit_plan_last_tested_on": today}, "exit_plan_last_tested_on"),  # no plan recorded
        (
            {"exit_plan": "p", "exit_plan_last_tested_on": today + datetime.timedelta(days=1)},
            "exit_plan_last_tested_on",
        ),
        ({"starts_on": datetime.date(2026, 1, 2), "ends_on": datetime.date(2026, 1, 1)}, "ends_on"),
        ({"audit_rights": "maybe"}, "audit_rights"),
        ({"sla_availability_percent": "100.5"}, "sla_availability_percent"),
        ({"notice_days": -1}, "notice_days"),
        ({"colour": "red"}, "non_field_errors"),
    ]
    for data, field in cases:
        with pytest.raises(Invalid) as refused:
            contract_create(user=analyst, initiative=a1, data=data)
        assert field in refused.value.fields, (data, refused.value.fields)
    with pytest.raises(Invalid) as refused:
        contract_create(user=analyst, initiative=b1, data={})
    assert "initiative" in refused.value.fields
    contract = contract_create(user=analyst, initiative=a1, data={"exit_plan": "回迁"})
    assert (contract.audit_rights, contract.critical_function) == (
        "unknown",
        "unknown",
    )  # unknown until recorded
    with pytest.raises(Invalid) as refused:
        contract_create(user=analyst, initiative=a1, data={})
    assert "initiative" in refused.value.fields
    updated = contract_update(user=analyst, contract=contract, data={"exit_plan_last_tested_on": today})
    assert updated.exit_plan_last_tested_on == today and updated.updated_by == analyst
    assert PartnershipContract.objects.count() == 1


# --- the API: JSON in, field messages out ---------------------------------------------------------------------------
def test_the_api_records_an_event_and_a_contract_through_the_services(scene, client_as):
    _banks, users, a1, b1 = scene
    client = client_as(users[("A", "analyst")])
    created = client.post(
        API + "monitoring-events/",
        {
            "initiative": a1.pk,
            "kind": "data_breach",
            "occurred_on": "2026-01-05",
            "severity": "critical",
            "description": "泄露",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "open" and created["Location"].endswith(f"/{created.json()['id']}/")
    bad = client.post(
        API + "monitoring-events/",
        {
            "initiative": a1.pk,
            "kind": "incident",
            "occurred_on": "2999-01-01",
            "severity": "low",
            "description": "x",
        },
        format="json",
    )
    assert bad.status_code == 400 and "occurred_on" in bad.json()["error"]["fields"]
    foreign = client.post(
        API + "monitoring-events/",
        {
            "initiative": b1.pk,
            "kind": "incident",
            "occurred_on": "2026-01-01",
            "severity": "low",
            "description": "x",
        },
        format="json",
    )
    assert foreign.status_code == 400 and "initiative" in foreign.json()["error"]["fields"]
    listed = client.get(API + "monitoring-events/", {"severity": "critical"})
    assert [e["id"] for e in listed.json()["results"]] == [created.json()["id"]]

    contract = client.post(API + "contracts/", {"initiative": a1.pk, "exit_plan": "切换"}, format="json")
    assert contract.status_code == 201 and contract.json()["audit_rights"] == "unknown"
    patched = client.patch(
        API + f"contracts/{contract.json()['id']}/", {"exit_plan_last_tested_on": "2999-01-01"}, format="json"
    )
    assert patched.status_code == 400 and "exit_plan_last_tested_on" in patched.json()["error"]["fields"]
    due = client.get(API + "reassessments/", {"state": "due"}).json()["results"]
    assert [(r["code"], r["reassessment_required"]) for r in due] == [] or all(r["code"] == "a1" for r in due)
    one = client.get(API + f"reassessments/{a1.pk}/").json()
    assert one["reassessment_required"] is True and one["next_reassessment_on"] == "2026-01-05"
