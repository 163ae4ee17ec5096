"""Idempotency keys: claiming a key for a request, storing the request's answer, purging expired records.

The one door for ``IdempotencyRecord`` rows: the API's ``partnerships.api.idempotency.idempotent`` claims a key
before an operation runs and stores its answer afterwards, both inside the request's transaction; the daily task
``partnerships.purge_idempotency_records`` removes expired rows. Keys are scoped per user (and so per bank).

Concurrency: on PostgreSQL a claim takes a transaction-scoped advisory lock on (user, key) without waiting; a
second request with the key while the first is still running is refused at once (``KeyInProgress``, 409). The
lock is released when the first request's transaction ends, after its record has become visible, so a retry then
finds the record and replays it. On SQLite (``make run``) writers are serialised by ``BEGIN IMMEDIATE``, so a second
request waits for the first and replays. The unique (user, key) constraint backs both: a record that cannot be
inserted means another request stored one first (``KeyInProgress``; the operation's writes roll back).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Conflict, Invalid, ServiceError
from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Visible ASCII ("!" to "~", no space: HTTP trims a field's surrounding spaces), 1 to 255 characters. The
# schema states the same bounds (partnerships.api.idempotency), so a client's validator agrees with ours.
KEY_MAX_LENGTH = 255
KEY_PATTERN = re.compile(r"[!-~]{1,255}")
KEY_SCHEMA_PATTERN = "^[!-~]+$"


class KeyInProgress(Conflict):
    code = "idempotency_key_in_progress"


class KeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class IdempotentRequest:
    """What identifies a request sent with an idempotency key: who, which key, and what was asked."""

    user: object
    key: str
    method: str
    path: str
    body_sha256: str


def idempotency_key_check(value: str) -> str:
    """The key as sent, or Invalid (400) naming the header."""
    if not KEY_PATTERN.fullmatch(value or ""):
        raise Invalid(
            fields={HEADER: [_("Send an Idempotency-Key of 1 to 255 visible ASCII characters (no spaces).")]}
        )
    return value


def body_sha256(data) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no spaces): the same data hashes alike however sent."""
    if hasattr(data, "lists"):  # a QueryDict: a form body, or no body at all
        data = dict(data.lists())
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ttl() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def _lock_id(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)  # a bigint for pg_try_advisory_xact_lock


def _try_lock(user_id: int, key: str) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already serialises writers
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(user_id, key)])
        return bool(cursor.fetchone()[0])


def idempotency_claim(request: IdempotentRequest, *, now: datetime.datetime | None = None):
    """The stored answer to replay for this request, or None: run the operation, then ``idempotency_store``.

    Runs inside the transaction that will carry the operation's writes and the record. Raises KeyInProgress (409)
    while another request with the key runs, KeyReused (422) when the key answered a different request.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("idempotency_claim needs the transaction that carries the operation's writes")
    if not _try_lock(request.user.pk, request.key):
        raise KeyInProgress(
            _("A request with this Idempotency-Key is still being processed; retry when it ends.")
        )
    now = now or timezone.now()
    record = IdempotencyRecord.objects.filter(user=request.user, key=request.key).first()
    if record is not None and record.created_at <= now - ttl():
        record.delete()  # expired: the key is free again
        record = None
    if record is None:
        return None
    if (record.method, record.path, record.body_sha256) != (
        request.method,
        request.path,
        request.body_sha256,
    ):
        raise KeyReused(
            _(
                "This Idempotency-Key was already used for a different request (another body, method or "
                "address); send a new key with a new request."
            ),
            extra={"method": record.method, "path": record.path},
        )
    return record


def idempotency_store(
    request: IdempotentRequest,
    *,
    status_code: int,
    body: str,
    headers: dict[str, str],
    started_at: datetime.datetime,
) -> IdempotencyRecord:
    """Record the operation's answer in the current transaction; KeyInProgress if another request stored first."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=request.user,
                key=request.key,
                method=request.method,
                path=request.path,
                body_sha256=request.body_sha256,
                status_code=status_code,
                response_body=body,
                response_headers=headers,
                created_at=started_at,
                completed_at=timezone.now(),
            )
    except IntegrityError:
        raise KeyInProgress(
            _("A request with this Idempotency-Key is still being processed; retry when it ends.")
        ) from None


def idempotency_records_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_TTL_HOURS (they are ignored already); the number deleted."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted
