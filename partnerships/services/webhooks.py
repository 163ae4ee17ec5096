"""Webhooks for integrators (issue 14): endpoints, events and their delivery (``docs/webhooks.md``).

**Endpoints** (``webhook_endpoint_create`` / ``_update`` / ``_delete``, ``webhook_secret_rotate``): the bank's
managers (and superusers) register an address for their bank, with the event types it receives. The address must be
HTTPS to a public host: a private, loopback, link-local or reserved IP address is refused, and so is ``localhost``,
except ``http://127.0.0.1`` / ``http://localhost`` / ``http://[::1]`` when ``WEBHOOKS_ALLOW_HTTP_LOCALHOST`` is on
(tests, local runs). A host name is checked again when a delivery is sent: every address it resolves to must be
public (a name may resolve to an internal address), and so must the address the connection actually reaches, checked
on the socket before anything is sent (the name may answer differently the second time: DNS rebinding).

The **secret** is generated here (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form) and stored as
it is: HMAC signing needs the key itself, so it cannot be hashed. The doors show it once, in the answer that created
or rotated it, and never again.

**Events** (``webhook_event_emit``): one ``WebhookDelivery`` per active endpoint of the event's bank subscribed to
its type, written in the caller's transaction and enqueued after commit — a rolled-back change sends nothing, a bank's
event never reaches another bank's endpoint. The payload is ``{"id", "type", "created_at", "bank", "data"}``.

**Delivery** (``webhook_delivery_attempt``, run by ``partnerships.tasks.webhook_deliver_task``) follows the Standard
Webhooks specification (https://www.standardwebhooks.com): headers ``webhook-id`` (the event id), ``webhook-timestamp``
(Unix seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed by the secret's
decoded bytes, so integrators can verify with the spec's libraries. The attempt runs under the delivery's row lock
(``SKIP LOCKED``: a second task for the same delivery leaves it alone) and is not made for a delivery that succeeded,
failed or is not yet due, so a redelivered or duplicated task sends nothing twice. A 2xx answer is success. Connection
errors, timeouts, 3xx, 5xx, 408, 425 and 429 are retried after ``WEBHOOKS_BACKOFF_SECONDS`` (±10 % jitter; a 429's
``Retry-After`` is honoured up to the longest back-off) until ``WEBHOOKS_MAX_ATTEMPTS``; any other 4xx fails at once
(the receiver refuses these bytes, and sending them again will not change that; a manager redelivers once it is
fixed). A retry due within ``ETA_MAX_SECONDS`` is enqueued with a countdown; later ones (and any whose task was lost)
are enqueued by the sweeper (``webhook_deliveries_sweep``, every minute from beat).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import WebhookDeliveryStatus, WebhookEventType
from ..errors import NON_FIELD, Conflict, FieldErrors, Invalid, NotFound
from ..models import Bank, WebhookDelivery, WebhookEndpoint
from ..tenancy import actor_has_bank_role, require_bank_role

logger = logging.getLogger(__name__)

MANAGE_ROLE = "manager"
SECRET_PREFIX = "whsec_"
ENDPOINT_FIELDS = ("bank", "url", "events", "active", "description")
UPDATABLE_FIELDS = ("url", "events", "active", "description")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Retries due sooner than this go to the broker with a countdown; later ones wait for the sweeper (a long countdown
# would sit unacknowledged in a worker past Redis's visibility timeout and be delivered again and again).
ETA_MAX_SECONDS = 300
# The sweeper leaves alone what was due less than this ago: its own task is most likely on its way.
SWEEP_GRACE_SECONDS = 30
SWEEP_BATCH = 1000
RETRY_STATUS_CODES = {408, 425, 429}
ERROR_MAX = 1000
USER_AGENT = "PartnershipScorecard-Webhooks/1"
_DESCRIPTION_MAX = WebhookEndpoint._meta.get_field("description").max_length
_URL_MAX = WebhookEndpoint._meta.get_field("url").max_length


# --- checks ------------------------------------------------------------------------------------------------------
def _pk(value):
    return getattr(value, "pk", value)


def _allow_local() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_HTTP_LOCALHOST", False))


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A public address; a loopback one only under the local allowance."""
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return _allow_local()
    return address.is_global and not address.is_multicast


def webhook_url_check(url) -> str:
    """The URL, trimmed, or Invalid naming ``url``: HTTPS to a public host (see the module docstring)."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid(fields={"url": [_("Give the endpoint's HTTPS address.")]})
    url = url.strip()
    if len(url) > _URL_MAX:
        raise Invalid(fields={"url": [_("At most %(n)d characters.") % {"n": _URL_MAX}]})
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise Invalid(fields={"url": [_("Enter a valid URL.")]}) from exc
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.username or parts.password:
        raise Invalid(fields={"url": [_("Leave the user name and password out of the address.")]})
    if parts.fragment:
        raise Invalid(fields={"url": [_("Leave the fragment (#…) out of the address.")]})
    local = host in LOCAL_HOSTS
    if parts.scheme != "https" and not (local and _allow_local()):
        raise Invalid(fields={"url": [_("The address must start with https://.")]})
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not _address_allowed(address):
            raise Invalid(
                fields={
                    "url": [_("Private, loopback and reserved addresses are refused; give a public address.")]
                }
            )
    elif host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".localdomain")):
        if not (host == "localhost" and _allow_local()):
            raise Invalid(fields={"url": [_("Local host names are refused; give a public address.")]})
    return url


def _events_check(events, errors: FieldErrors) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        errors.add("events", _("Choose at least one event type."))
        return []
    known = set(WebhookEventType.values)
    unknown = [e for e in events if not isinstance(e, str) or e not in known]
    if unknown:
        errors.add(
            "events",
            _("Unknown event types: %(names)s. Known: %(known)s.")
            % {"names": ", ".join(map(str, unknown)), "known": ", ".join(WebhookEventType.values)},
        )
        return []
    return [e for e in WebhookEventType.values if e in set(events)]  # the choices' order, each once


def _require_manager(user, bank_id) -> None:
    require_bank_role(
        user, bank_id, min_role=MANAGE_ROLE, message=_("Only the bank's managers manage its webhooks.")
    )


def _bank_for_create(user, bank) -> int:
    """Creating names the bank in the data: one the user cannot see is a bad field, not a missing object."""
    bank_id = _pk(bank)
    if (
        not isinstance(bank_id, int)
        or isinstance(bank_id, bool)
        or not actor_has_bank_role(user, bank_id, min_role="viewer")
        or not Bank.objects.filter(pk=bank_id).exists()
    ):
        raise Invalid(fields={"bank": [_("Choose one of your banks.")]})
    _require_manager(user, bank_id)
    return bank_id


def _apply(endpoint: WebhookEndpoint, data: dict[str, Any], *, allowed: tuple[str, ...]) -> WebhookEndpoint:
    errors = FieldErrors()
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        errors.add(NON_FIELD, _("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    if "url" in data:
        try:
            endpoint.url = webhook_url_check(data["url"])
        except Invalid as exc:
            errors.merge(exc)
    if "events" in data:
        endpoint.events = _events_check(data["events"], errors)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors.add("active", _("Must be true or false."))
        else:
            endpoint.active = data["active"]
    if "description" in data:
        text = data["description"]
        if text is None:
            text = ""
        if not isinstance(text, str) or len(text) > _DESCRIPTION_MAX:
            errors.add("description", _("At most %(n)d characters.") % {"n": _DESCRIPTION_MAX})
        else:
            endpoint.description = text.strip()
    errors.raise_if_any()
    return endpoint


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# --- endpoints ---------------------------------------------------------------------------------------------------
def webhook_endpoint_validate(*, user, data: dict[str, Any], endpoint: WebhookEndpoint | None = None) -> None:
    """Every check of create / update, writing nothing (the admin's form asks this in its ``clean``)."""
    if endpoint is None or endpoint.pk is None:
        bank_id = _bank_for_create(user, data.get("bank"))
        draft = WebhookEndpoint(bank_id=bank_id)
        _apply(draft, {k: v for k, v in data.items() if k != "bank"}, allowed=UPDATABLE_FIELDS)
        if "url" not in data or "events" not in data:
            _missing(data)
    else:
        _require_manager(user, endpoint.bank_id)
        _apply(WebhookEndpoint(bank_id=endpoint.bank_id), dict(data), allowed=UPDATABLE_FIELDS)


def _missing(data) -> None:
    errors = FieldErrors()
    if "url" not in data:
        errors.add("url", _("Give the endpoint's HTTPS address."))
    if "events" not in data:
        errors.add("events", _("Choose at least one event type."))
    errors.raise_if_any()


def webhook_endpoint_create(*, user, data: dict[str, Any]) -> WebhookEndpoint:
    """Register an endpoint for one of the user's banks (its managers); the new secret is on ``endpoint.secret``
    — show it to the user now, it is never shown again."""
    bank_id = _bank_for_create(user, data.get("bank"))
    _missing(data)
    endpoint = _apply(
        WebhookEndpoint(bank_id=bank_id),
        {k: v for k, v in data.items() if k != "bank"},
        allowed=UPDATABLE_FIELDS,
    )
    endpoint.secret = _new_secret()
    endpoint.created_by = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        endpoint.save()
    return endpoint


def _locked(endpoint: WebhookEndpoint | int) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.select_for_update().filter(pk=_pk(endpoint)).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def webhook_endpoint_update(
    *, user, endpoint: WebhookEndpoint | int, data: dict[str, Any]
) -> WebhookEndpoint:
    """Change the address, events, active flag or description (not the bank, not the secret: rotate it)."""
    data = dict(data)
    with transaction.atomic():
        current = _locked(endpoint)
        _require_manager(user, current.bank_id)
        if "bank" in data and _pk(data.pop("bank")) != current.bank_id:
            raise Invalid(fields={"bank": [_("An endpoint keeps its bank; register a new one instead.")]})
        _apply(current, data, allowed=UPDATABLE_FIELDS)
        current.save()
    return current


def webhook_endpoint_delete(*, user, endpoint: WebhookEndpoint | int) -> None:
    """Delete the endpoint and its delivery log; deliveries not yet sent are dropped."""
    with transaction.atomic():
        current = _locked(endpoint)
        _require_manager(user, current.bank_id)
        current.delete()


def webhook_secret_rotate(*, user, endpoint: WebhookEndpoint | int) -> WebhookEndpoint:
    """A new secret at once (the old one stops signing); it is on ``endpoint.secret`` — show it now, once."""
    with transaction.atomic():
        current = _locked(endpoint)
        _require_manager(user, current.bank_id)
        current.secret = _new_secret()
        current.secret_rotated_at = timezone.now()
        current.save(update_fields=["secret", "secret_rotated_at", "updated_at"])
    return current


# --- events ------------------------------------------------------------------------------------------------------
def _subscribed(bank_id: int, event_type: str) -> list[WebhookEndpoint]:
    # Few endpoints a bank: the subscription is checked here, not in SQL (JSON containment differs by database).
    return [
        e for e in WebhookEndpoint.objects.for_bank(bank_id).filter(active=True) if event_type in e.events
    ]


def webhook_subscribed(*, bank_id: int, event_type: str) -> bool:
    """Whether any active endpoint of the bank listens to the event type (to skip building a costly payload)."""
    return bool(_subscribed(bank_id, event_type))


def webhook_endpoints_exist(bank_ref: str) -> Exists:
    """An expression for another read: whether the bank in its column ``bank_ref`` (e.g. ``"bank_id"``) has an
    active endpoint, whatever it listens to. False means ``webhook_subscribed`` is False for every event type of
    that bank, so a service can fold this into a read it makes anyway and skip the endpoints' own read when
    nobody listens; True means ask ``webhook_subscribed``."""
    return Exists(WebhookEndpoint.objects.filter(bank_id=OuterRef(bank_ref), active=True).order_by())


def webhook_event_emit(*, bank_id: int, event_type: str, data: dict) -> list[WebhookDelivery]:
    """Record the event for every active endpoint of ``bank_id`` subscribed to ``event_type``, in the caller's
    transaction, and enqueue the deliveries once it commits. Returns the deliveries (none: nobody listens)."""
    if event_type not in WebhookEventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = _subscribed(bank_id, event_type)
    if not endpoints:
        return []
    bank_code = Bank.objects.filter(pk=bank_id).values_list("code", flat=True).first()
    now = timezone.now()
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "bank": bank_code,
        # Dates, decimals and UUIDs as JSON strings, once: what is stored is what is signed and sent.
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_type=event_type,
                event_id=event_id,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ]
    )
    ids = [d.pk for d in deliveries]
    if any(pk is None for pk in ids):  # databases that do not return ids from bulk inserts
        ids = list(WebhookDelivery.objects.filter(event_id=event_id).values_list("pk", flat=True))
    transaction.on_commit(lambda: [webhook_delivery_enqueue(pk) for pk in ids], robust=True)
    return deliveries


def webhook_delivery_enqueue(delivery_id: int, *, countdown: float | None = None) -> bool:
    """Send the delivery's task to the broker; False (the sweeper will) when the broker is unavailable."""
    from ..tasks import webhook_deliver_task

    try:
        webhook_deliver_task.apply_async(
            args=[delivery_id], countdown=countdown, retry=True, retry_policy={"max_retries": 1}
        )
    except Exception as exc:  # kombu / redis raise many kinds; any failure means "not enqueued"
        logger.warning("webhook delivery %s not enqueued (broker unavailable?): %s", delivery_id, exc)
        return False
    return True


def webhook_redeliver(*, user, delivery: WebhookDelivery | int) -> WebhookDelivery:
    """Send a delivery again now (a manager of its bank), whatever its status: a new round of attempts under the
    same event id (receivers that already processed it recognise it by ``webhook-id``)."""
    with transaction.atomic():
        current = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=_pk(delivery))
            .first()
        )
        if current is None:
            raise NotFound(_("Not found."))
        _require_manager(user, current.endpoint.bank_id)
        if not current.endpoint.active:
            raise Conflict(_("The endpoint is inactive; activate it before redelivering."))
        current.status = WebhookDeliveryStatus.PENDING
        current.attempts = 0
        current.next_attempt_at = timezone.now()
        current.finished_at = None
        current.save(update_fields=["status", "attempts", "next_attempt_at", "finished_at"])
        pk = current.pk
        transaction.on_commit(lambda: webhook_delivery_enqueue(pk), robust=True)
    return current


# --- delivery ----------------------------------------------------------------------------------------------------
def webhook_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{msg_id}.{timestamp}.{body}"`` (Standard Webhooks). Hand-written: three
    lines of the standard library, where the reference library would be a runtime dependency for them."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Refused(Exception):
    """The host resolves to an address a webhook may not reach."""


def _resolve_check(url: str) -> None:
    host = urlsplit(url).hostname or ""
    port = urlsplit(url).port or 443
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _address_allowed(address):
            raise _Refused(f"{host} resolves to {address}, which webhooks may not reach")


@functools.cache
def _checked_session_classes():
    """urllib3 connection pools whose connections check the address they actually reached, before a byte is sent.

    ``_resolve_check`` looks the name up first, but the HTTP client looks it up again to connect: a name can
    answer a public address to the check and an internal one to the connection (DNS rebinding). So the socket's
    peer is checked too, the moment it is connected — before TLS or the request. (requests and urllib3 offer no
    hook for this; ``_new_conn`` is where urllib3 2 opens the socket, and the pools name their connection class.)
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Checked:
        def _new_conn(self):
            sock = super()._new_conn()
            address = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
            if not _address_allowed(address):
                sock.close()
                raise _Refused(f"{self.host} connected to {address}, which webhooks may not reach")
            return sock

    class CheckedHTTPConnection(_Checked, HTTPConnection):
        pass

    class CheckedHTTPSConnection(_Checked, HTTPSConnection):
        pass

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    class CheckedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}

    return CheckedAdapter


def _session():
    """A requests session for one delivery: every connection's address checked (``_checked_session_classes``), no
    proxy or credentials from the environment (a proxy would be the address checked, not the receiver)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    adapter = _checked_session_classes()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _backoff(attempts: int, retry_after: float | None = None) -> float:
    steps = list(getattr(settings, "WEBHOOKS_BACKOFF_SECONDS", [30, 120, 600, 3600, 21600])) or [30]
    delay = steps[min(attempts - 1, len(steps) - 1)] * random.uniform(0.9, 1.1)
    if retry_after:
        delay = max(delay, min(retry_after, max(steps)))
    return delay


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return float(value) if value.strip().isdigit() else None


def _send(delivery: WebhookDelivery) -> tuple[int | None, int | None, str, bool, float | None]:
    """POST the delivery; (status code, milliseconds, error, retryable, Retry-After)."""
    import requests

    endpoint = delivery.endpoint
    body = webhook_body(delivery.payload)
    timestamp = int(time.time())
    msg_id = str(delivery.event_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(endpoint.secret, msg_id, timestamp, body),
    }
    started = time.monotonic()
    try:
        _resolve_check(endpoint.url)
        # Redirects are not followed (one could lead inside the network); the answer's body is not read.
        with (
            _session() as session,
            session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=(settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            elapsed = int((time.monotonic() - started) * 1000)
            code = response.status_code
            if 200 <= code < 300:
                return code, elapsed, "", False, None
            retryable = not (400 <= code < 500) or code in RETRY_STATUS_CODES
            return code, elapsed, f"HTTP {code}", retryable, _retry_after(response)
    except _Refused as exc:
        return None, None, str(exc), False, None
    except requests.Timeout as exc:
        kind = "connect timeout" if isinstance(exc, requests.ConnectTimeout) else "read timeout"
        return None, int((time.monotonic() - started) * 1000), f"{kind}: {exc}", True, None
    except (requests.RequestException, ConnectionError, OSError) as exc:
        return None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}", True, None


def webhook_delivery_attempt(delivery_id: int) -> str:
    """One attempt at a delivery (the task's body); returns what happened: ``succeeded``, ``retrying``,
    ``failed``, or ``skipped`` (done already, not due yet, or another worker is sending it)."""
    retry_in = None
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (
            WebhookDeliveryStatus.SUCCEEDED,
            WebhookDeliveryStatus.FAILED,
        ):
            return "skipped"
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return "skipped"
        if not delivery.endpoint.active:
            code, elapsed, error, retryable, retry_after = None, None, "endpoint inactive", False, None
        else:
            # The row stays locked while the request runs (at most the connect + read timeouts), so no other task
            # sends this delivery meanwhile; a worker killed here rolls back, and the redelivered task sends again.
            code, elapsed, error, retryable, retry_after = _send(delivery)
            delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_response_ms = elapsed
        delivery.last_error = error[:ERROR_MAX]
        now = timezone.now()
        if not error:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.finished_at = now
        elif retryable and delivery.attempts < settings.WEBHOOKS_MAX_ATTEMPTS:
            retry_in = _backoff(delivery.attempts, retry_after)
            delivery.status = WebhookDeliveryStatus.RETRYING
            delivery.next_attempt_at = now + timedelta(seconds=retry_in)
        else:
            delivery.status = WebhookDeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.finished_at = now
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_status_code",
                "last_response_ms",
                "last_error",
                "next_attempt_at",
                "finished_at",
            ]
        )
    logger.info(
        "webhook delivery %s (%s) attempt %s: %s %s",
        delivery.pk,
        delivery.event_type,
        delivery.attempts,
        delivery.status,
        error or code,
    )
    if retry_in is not None and retry_in <= ETA_MAX_SECONDS:
        webhook_delivery_enqueue(delivery.pk, countdown=retry_in)
    return delivery.status


def webhook_deliveries_sweep() -> int:
    """Enqueue again the deliveries due for a while whose task was lost (the broker was down at commit, a worker
    died, a retry too far off for a countdown); returns how many. A duplicate task is harmless (see above)."""
    cutoff = timezone.now() - timedelta(seconds=SWEEP_GRACE_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(
            status__in=[WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.RETRYING],
            next_attempt_at__lte=cutoff,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(1 for pk in ids if webhook_delivery_enqueue(pk))
