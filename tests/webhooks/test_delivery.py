"""Webhook deliveries through a real Celery worker, real Redis and PostgreSQL, to a real HTTP receiver.

The test settings (config/settings/test.py) make the back-off 1 s, 1 s, 2 s, the read timeout 2 s and the attempts 4,
so retries, a slow receiver and the final failure show within seconds. Signatures are checked with the Standard
Webhooks reference library, an implementation that is not ours.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from partnerships.models import WebhookDelivery
from partnerships.services.webhooks import (
    webhook_deliveries_sweep,
    webhook_endpoint_create,
    webhook_event_emit,
    webhook_redeliver,
)
from tests.processes import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _endpoint(bank, manager, url: str, events=("limit.breached",)):
    return webhook_endpoint_create(user=manager, data={"bank": bank.pk, "url": url, "events": list(events)})


def _emit(bank, data=None) -> list[WebhookDelivery]:
    with transaction.atomic():
        return webhook_event_emit(bank_id=bank.pk, event_type="limit.breached", data=data or {"breach": 7})


def _settled(delivery: WebhookDelivery, timeout: float = 40) -> WebhookDelivery:
    def done():
        delivery.refresh_from_db()
        return delivery.status in ("succeeded", "failed")

    wait_for(done, timeout, message=f"delivery {delivery.pk} to finish (status {delivery.status})")
    return delivery


def test_delivered_signed_to_its_own_bank_only_and_redelivered(two_banks, workers, receiver_factory):
    banks, users = two_banks
    workers()
    mine, theirs = receiver_factory(), receiver_factory()
    endpoint = _endpoint(banks["A"], users[("A", "manager")], mine.url)
    _endpoint(banks["B"], users[("B", "manager")], theirs.url)
    _endpoint(banks["A"], users[("A", "manager")], theirs.url, events=("score.created",))  # not subscribed

    (delivery,) = _emit(banks["A"], {"breach": 7, "subject": "腾讯"})
    delivery = _settled(delivery)

    (got,) = mine.wait_for(1)
    assert delivery.status == "succeeded" and delivery.attempts == 1
    assert (
        delivery.last_status_code == 200 and delivery.last_response_ms is not None and not delivery.last_error
    )
    # The reference library accepts the signature (and the timestamp, within its 5-minute tolerance).
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload == delivery.payload
    assert payload["type"] == "limit.breached" and payload["bank"] == "bank-a"
    assert payload["data"] == {"breach": 7, "subject": "腾讯"} and payload["id"] == str(delivery.event_id)
    assert got.headers["webhook-id"] == str(delivery.event_id)
    assert abs(int(got.headers["webhook-timestamp"]) - got.at) < 5
    assert got.headers["content-type"] == "application/json"
    # A wrong secret does not verify: the check can fail.
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)

    # Redelivery: sent again, same event id, a new round of attempts.
    webhook_redeliver(user=users[("A", "manager")], delivery=delivery)
    again = mine.wait_for(2)[1]
    assert again.headers["webhook-id"] == got.headers["webhook-id"]
    Webhook(endpoint.secret).verify(again.body, again.headers)
    delivery = _settled(delivery)
    assert delivery.status == "succeeded" and delivery.attempts == 1

    time.sleep(1.5)  # anything still on its way to the wrong receiver would have arrived
    assert theirs.requests == []
    assert len(mine.requests) == 2  # a succeeded delivery is never sent again by itself


def test_receiver_down_is_retried_then_failed(two_banks, workers, closed_url):
    banks, users = two_banks
    workers()
    _endpoint(banks["A"], users[("A", "manager")], closed_url)
    (delivery,) = _emit(banks["A"])
    started = time.monotonic()
    delivery = _settled(delivery)

    assert (
        delivery.status == "failed" and delivery.attempts == 4
    )  # WEBHOOKS_MAX_ATTEMPTS in the test settings
    assert delivery.last_status_code is None and "Connection" in delivery.last_error
    assert delivery.finished_at is not None and delivery.next_attempt_at is None
    assert time.monotonic() - started >= 3.5  # back-off 1 + 1 + 2 s (less 10 % jitter) between the attempts


def test_server_error_is_retried_until_the_receiver_recovers(two_banks, workers, receiver):
    banks, users = two_banks
    workers()
    receiver.script = [(500, 0), (503, 0)]
    _endpoint(banks["A"], users[("A", "manager")], receiver.url)
    (delivery,) = _emit(banks["A"])
    delivery = _settled(delivery)

    assert delivery.status == "succeeded" and delivery.attempts == 3 and delivery.last_status_code == 200
    requests = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.85 for gap in gaps), gaps  # back-off, not a tight loop


def test_slow_receiver_times_out_and_is_retried(two_banks, workers, receiver):
    banks, users = two_banks
    workers()
    receiver.script = [(200, 4.0)]  # beyond the 2 s read timeout of the test settings
    _endpoint(banks["A"], users[("A", "manager")], receiver.url)
    (delivery,) = _emit(banks["A"])
    delivery = _settled(delivery)

    assert delivery.status == "succeeded" and delivery.attempts == 2
    assert len(receiver.wait_for(2)) == 2


def test_client_error_fails_at_once_and_a_rolled_back_emit_sends_nothing(two_banks, workers, receiver):
    banks, users = two_banks
    workers()
    receiver.default = (400, 0)
    _endpoint(banks["A"], users[("A", "manager")], receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_event_emit(bank_id=banks["A"].pk, event_type="limit.breached", data={"breach": 1})
        raise RuntimeError("the change that emitted the event fails")
    assert not WebhookDelivery.objects.exists()

    (delivery,) = _emit(banks["A"], {"breach": 2})
    delivery = _settled(delivery)
    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.last_status_code == 400
    time.sleep(2.5)  # no retry comes
    (only,) = receiver.requests
    assert json.loads(only.body)["data"] == {"breach": 2}


def test_the_sweeper_sends_a_delivery_whose_task_was_lost(two_banks, workers, receiver):
    banks, users = two_banks
    endpoint = _endpoint(banks["A"], users[("A", "manager")], receiver.url)
    # Recorded, but its task never reached a broker (as when Redis was down at commit): no worker sends it.
    lost = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="limit.breached",
        payload={"id": "x", "type": "limit.breached", "bank": "bank-a", "data": {}},
        next_attempt_at=timezone.now() - timedelta(minutes=2),
    )
    fresh = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="limit.breached", payload={}, next_attempt_at=timezone.now()
    )
    workers()
    assert webhook_deliveries_sweep() == 1  # the fresh one's own task is presumably on its way: left alone
    lost = _settled(lost)
    assert lost.status == "succeeded" and len(receiver.wait_for(1)) == 1
    fresh.refresh_from_db()
    assert fresh.status == "pending" and fresh.attempts == 0
