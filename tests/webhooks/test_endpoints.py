"""Webhook endpoints through the API, the admin and the services: who may register them, the secret shown once,
URL checks, the delivery log, and the events that scoring and approvals emit (recorded in their transaction)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.errors import Forbidden, Invalid
from partnerships.models import LimitBreach, WebhookDelivery, WebhookEndpoint
from partnerships.services.limit_breaches import limit_breached_emit
from partnerships.services.limit_register import limit_rule_create
from partnerships.services.webhooks import (
    webhook_endpoint_create,
    webhook_event_emit,
    webhook_url_check,
)
from scoring.services.assessments import assessment_approve, assessment_create, assessment_submit
from scoring.services.jobs import score_job_create, score_job_run
from scoring.services.rubrics import rubrics_load
from tests.api.conftest import rate_all
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db
API = "/api/v1/"


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _body(bank, url="https://hooks.example.com/in", events=("score.created",)):
    events = list(events) if isinstance(events, list | tuple) else events
    return {"bank": bank.pk, "url": url, "events": events, "description": "BI 看板"}


def test_a_manager_registers_and_the_secret_is_shown_once(two_banks):
    banks, users = two_banks
    client = _api(users[("A", "manager")])

    created = client.post(f"{API}webhooks/", _body(banks["A"]), format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["Location"].endswith(f"/webhooks/{created.json()['id']}/")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret and endpoint.created_by == users[("A", "manager")]

    detail = client.get(f"{API}webhooks/{endpoint.pk}/")
    listed = client.get(f"{API}webhooks/")
    patched = client.patch(f"{API}webhooks/{endpoint.pk}/", {"active": False}, format="json")
    for response in (detail, listed, patched):
        assert response.status_code == 200
        assert secret not in response.content.decode() and b'"secret"' not in response.content

    rotated = client.post(f"{API}webhooks/{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != secret and new.startswith("whsec_")
    endpoint.refresh_from_db()
    assert endpoint.secret == new and endpoint.secret_rotated_at is not None
    assert new not in client.get(f"{API}webhooks/{endpoint.pk}/").content.decode()


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_a_non_manager_cannot_register_or_read(two_banks, role):
    banks, users = two_banks
    client = _api(users[("A", role)])
    assert client.post(f"{API}webhooks/", _body(banks["A"]), format="json").status_code == 403
    assert client.get(f"{API}webhooks/").status_code == 403
    assert client.get(f"{API}webhook-deliveries/").status_code == 403
    assert not WebhookEndpoint.objects.exists()
    with pytest.raises(Forbidden):
        webhook_endpoint_create(user=users[("A", role)], data=_body(banks["A"]))


def test_another_banks_manager_cannot_register_for_it_nor_see_it(two_banks):
    banks, users = two_banks
    other = _api(users[("B", "manager")])
    refused = other.post(f"{API}webhooks/", _body(banks["A"]), format="json")
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"bank"}
    endpoint = webhook_endpoint_create(user=users[("A", "manager")], data=_body(banks["A"]))
    assert other.get(f"{API}webhooks/{endpoint.pk}/").status_code == 404
    assert other.get(f"{API}webhooks/").json()["results"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",  # plain HTTP to a public host
        "https://10.1.2.3/in",  # private
        "https://192.168.0.10/in",
        "https://172.16.5.4/in",
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://[fd00::1]/in",  # unique local IPv6
        "https://0.0.0.0/in",
        "https://printer.local/in",
        "https://user:pw@hooks.example.com/in",
        "ftp://hooks.example.com/in",
        "not a url",
        "",
    ],
)
def test_bad_addresses_are_refused_naming_the_field(two_banks, url):
    banks, users = two_banks
    response = _api(users[("A", "manager")]).post(
        f"{API}webhooks/", _body(banks["A"], url=url), format="json"
    )
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {"url"}
    assert not WebhookEndpoint.objects.exists()


def test_the_local_allowance_is_a_setting(settings):
    assert (
        webhook_url_check("http://127.0.0.1:8099/hook") == "http://127.0.0.1:8099/hook"
    )  # test settings: on
    assert webhook_url_check("https://hooks.example.com/in") == "https://hooks.example.com/in"
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    for url in ("http://127.0.0.1:8099/hook", "https://127.0.0.1/hook", "http://localhost/hook"):
        with pytest.raises(Invalid) as refused:
            webhook_url_check(url)
        assert set(refused.value.fields) == {"url"}


def test_unknown_events_and_fields_are_refused(two_banks):
    banks, users = two_banks
    client = _api(users[("A", "manager")])
    for events in (["score.deleted"], [], "score.created"):
        response = client.post(f"{API}webhooks/", _body(banks["A"], events=events), format="json")
        assert response.status_code == 400, (events, response.content)
        assert all(name.startswith("events") for name in response.json()["error"]["fields"]), events
    with pytest.raises(Invalid) as refused:
        webhook_endpoint_create(
            user=users[("A", "manager")], data=_body(banks["A"], events=["score.deleted"])
        )
    assert set(refused.value.fields) == {"events"}
    with pytest.raises(Invalid) as refused:
        webhook_endpoint_create(user=users[("A", "manager")], data={**_body(banks["A"]), "secret": "mine"})
    assert "non_field_errors" in refused.value.fields


def test_events_reach_only_the_banks_active_subscribed_endpoints(two_banks):
    banks, users = two_banks
    listening = webhook_endpoint_create(
        user=users[("A", "manager")], data=_body(banks["A"], events=["limit.breached", "score.created"])
    )
    webhook_endpoint_create(user=users[("A", "manager")], data=_body(banks["A"], events=["score.created"]))
    off = webhook_endpoint_create(
        user=users[("A", "manager")], data=_body(banks["A"], events=["limit.breached"])
    )
    off.active = False
    off.save()
    webhook_endpoint_create(user=users[("B", "manager")], data=_body(banks["B"], events=["limit.breached"]))

    (delivery,) = webhook_event_emit(bank_id=banks["A"].pk, event_type="limit.breached", data={"x": 1})
    assert delivery.endpoint == listening and delivery.status == "pending"
    assert set(delivery.payload) == {"id", "type", "created_at", "bank", "data"}
    assert delivery.payload["bank"] == "bank-a" and delivery.payload["data"] == {"x": 1}
    assert webhook_event_emit(bank_id=banks["B"].pk, event_type="score.created", data={}) == []


def test_the_delivery_log_through_the_api(two_banks):
    banks, users = two_banks
    endpoint = webhook_endpoint_create(user=users[("A", "manager")], data=_body(banks["A"]))
    other = webhook_endpoint_create(user=users[("B", "manager")], data=_body(banks["B"]))
    webhook_event_emit(bank_id=banks["A"].pk, event_type="score.created", data={"n": 1})
    webhook_event_emit(bank_id=banks["B"].pk, event_type="score.created", data={"n": 2})
    client = _api(users[("A", "manager")])

    rows = client.get(f"{API}webhook-deliveries/").json()["results"]
    assert [r["endpoint"] for r in rows] == [endpoint.pk] and rows[0]["status"] == "pending"
    assert client.get(f"{API}webhook-deliveries/?status=failed").json()["results"] == []
    assert len(client.get(f"{API}webhook-deliveries/?endpoint={endpoint.pk}").json()["results"]) == 1
    assert client.get(f"{API}webhook-deliveries/?endpoint={other.pk}").json()["results"] == []
    assert client.get(f"{API}webhook-deliveries/?status=nonsense").status_code == 400
    b_delivery = WebhookDelivery.objects.get(endpoint=other)
    assert client.post(f"{API}webhook-deliveries/{b_delivery.pk}/redeliver/").status_code == 404
    analyst = _api(users[("A", "analyst")])
    mine = WebhookDelivery.objects.get(endpoint=endpoint)
    assert analyst.post(f"{API}webhook-deliveries/{mine.pk}/redeliver/").status_code == 403
    WebhookDelivery.objects.filter(pk=mine.pk).update(status="failed", attempts=4)
    redone = client.post(f"{API}webhook-deliveries/{mine.pk}/redeliver/")
    assert (
        redone.status_code == 202 and redone.json()["status"] == "pending" and redone.json()["attempts"] == 0
    )


# --- the admin ---------------------------------------------------------------------------------------------------
def _admin(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_admin_registration_shows_the_secret_once(two_banks):
    banks, users = two_banks
    client = _admin(users[("A", "manager")])
    add = reverse("admin:partnerships_webhookendpoint_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "bank": banks["A"].pk,
            "url": "https://hooks.example.com/a",
            "events": ["score.created"],
            "active": "on",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    endpoint = WebhookEndpoint.objects.get()
    page = response.content.decode()
    assert endpoint.secret in page and "仅显示这一次" in page
    assert "no-store" in response["Cache-Control"]
    change = client.get(reverse("admin:partnerships_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200 and endpoint.secret not in change.content.decode()
    changelist = client.get(reverse("admin:partnerships_webhookendpoint_changelist"))
    assert endpoint.secret not in changelist.content.decode()

    rotated = client.post(
        reverse("admin:partnerships_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert rotated.status_code == 200 and endpoint.secret in rotated.content.decode()


def test_admin_refuses_a_private_address_on_the_field(two_banks):
    banks, users = two_banks
    response = _admin(users[("A", "manager")]).post(
        reverse("admin:partnerships_webhookendpoint_add"),
        {"bank": banks["A"].pk, "url": "https://10.0.0.8/a", "events": ["score.created"]},
    )
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert response.context["adminform"].form.errors.keys() == {"url"}


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_admin_keeps_non_managers_out(two_banks, role):
    _banks, users = two_banks
    client = _admin(users[("A", role)])
    assert client.get(reverse("admin:partnerships_webhookendpoint_add")).status_code == 403
    assert client.get(reverse("admin:partnerships_webhookendpoint_changelist")).status_code == 403
    assert client.get(reverse("admin:partnerships_webhookdelivery_changelist")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert not re.search(r"webhookendpoint|webhookdelivery", index)


def test_admin_redeliver_action(two_banks):
    banks, users = two_banks
    endpoint = webhook_endpoint_create(user=users[("A", "manager")], data=_body(banks["A"]))
    (delivery,) = webhook_event_emit(bank_id=banks["A"].pk, event_type="score.created", data={})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=4, last_error="HTTP 500")
    client = _admin(users[("A", "manager")])
    response = client.post(
        reverse("admin:partnerships_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.endpoint == endpoint
    change = client.get(reverse("admin:partnerships_webhookdelivery_change", args=[delivery.pk]))
    assert change.status_code == 200 and b'name="event_type"' not in change.content  # read-only


# --- emit points -------------------------------------------------------------------------------------------------
def test_approval_and_scoring_emit_their_events(two_banks, taxonomy):
    banks, users = two_banks
    rubrics_load(versions={1})
    webhook_endpoint_create(
        user=users[("A", "manager")],
        data=_body(banks["A"], events=["assessment.approved", "score.created"]),
    )
    initiative = make_rated_initiative(bank=banks["A"])
    assessment = assessment_create(user=users[("A", "analyst")], initiative=initiative)
    rate_all(assessment, users[("A", "analyst")])
    assessment_submit(assessment=assessment, user=users[("A", "analyst")])
    _approved, job = assessment_approve(user=users[("A", "manager")], assessment=assessment)

    approved = WebhookDelivery.objects.get(event_type="assessment.approved")
    assert approved.payload["data"]["assessment"] == assessment.pk
    assert approved.payload["data"]["approved_by"] == "manager_a"
    assert approved.payload["data"]["score_job"] == str(job.pk)

    score_job_run(job.pk)  # in this process: one chunk, scored in place
    created = WebhookDelivery.objects.get(event_type="score.created")
    (score,) = created.payload["data"]["scores"]
    assert score["initiative"] == initiative.pk and score["tier"] in "ABCD"
    assert created.payload["data"]["job"] == str(job.pk)

    # The same inputs again: no new Score, so no new event.
    again = score_job_create(bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    score_job_run(again.pk)
    assert WebhookDelivery.objects.filter(event_type="score.created").count() == 1


def test_an_opened_breach_emits_limit_breached(two_banks):
    banks, users = two_banks
    webhook_endpoint_create(user=users[("A", "manager")], data=_body(banks["A"], events=["limit.breached"]))
    rule = limit_rule_create(
        user=users[("A", "manager")],
        data={
            "bank": banks["A"].pk,
            "key": "hook-capital",
            "version": 1,
            "kind": "partner_capital_share",
            "threshold_percent": "20",
            "name_zh_hans": "本行限额",
            "name_en": "Own limit",
            "source_zh_hans": "本行风险偏好",
            "source_en": "Risk appetite",
            "valid_from": "2025-01-01",
        },
    )
    breach = LimitBreach.objects.create(
        bank=banks["A"],
        rule=rule,
        subject="tencent",
        period_end=datetime.date(2025, 6, 30),
        value_percent=Decimal("30.5"),
        threshold_percent=20,
    )
    limit_breached_emit(breach)
    data = WebhookDelivery.objects.get(event_type="limit.breached").payload["data"]
    assert data["breach"] == breach.pk and data["limit"]["key"] == "hook-capital"
    assert data["value_percent"] == "30.5" and data["period_end"] == "2025-06-30"


def test_the_address_a_delivery_connects_to_is_checked_again_on_the_socket(
    two_banks, receiver, settings, monkeypatch
):
    """DNS rebinding: a name may answer a public address to the look-up before sending and an internal one to the
    connection. Simulated by letting the look-up pass (``_resolve_check`` a no-op) while the receiver is on the
    loopback, which deliveries may not reach without the local allowance: the socket's peer is refused before a
    byte is sent. With the allowance the same send goes through the same checked session."""
    from partnerships.services import webhooks

    banks, users = two_banks
    webhook_endpoint_create(
        user=users[("A", "manager")],
        data={"bank": banks["A"].pk, "url": receiver.url, "events": ["limit.breached"]},
    )
    (delivery,) = webhook_event_emit(bank_id=banks["A"].pk, event_type="limit.breached", data={"breach": 1})

    code, _ms, error, retryable, _after = webhooks._send(delivery)
    assert (code, error) == (200, "") and len(receiver.wait_for(1)) == 1

    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    monkeypatch.setattr(webhooks, "_resolve_check", lambda url: None)
    code, _ms, error, retryable, _after = webhooks._send(delivery)
    assert code is None and not retryable
    assert "connected to 127.0.0.1, which webhooks may not reach" in error
    assert len(receiver.requests) == 1  # nothing more arrived
