"""``Idempotency-Key`` on the API's creating operations: a retried request gets the first answer, not a second write.

Applied with ``@idempotent`` to ``POST initiatives/``, ``POST initiatives/{id}/score/`` and ``POST score-jobs/``.
The semantics follow Stripe's and the IETF draft "The Idempotency-Key HTTP Header Field":

- No header: nothing changes.
- The key is 1 to 255 visible ASCII characters, no spaces (otherwise 400) and belongs to the user who sent it: another
  user's identical key is independent, so keys never cross banks.
- Same key, same method, path and body (SHA-256 of the canonical JSON) within ``IDEMPOTENCY_TTL_HOURS`` (24): the
  stored answer again — status, body (in the first request's language) and ``Location`` — with
  ``Idempotent-Replayed: true``; nothing runs again, not even the permission checks inside the operation.
- Same key, another body, method or path: 422 ``idempotency_key_reused``.
- Same key while the first request still runs: 409 ``idempotency_key_in_progress`` at once (the draft's choice;
  waiting would tie a web worker up for as long as the first request takes). A later retry gets the replay.
- Stored: the operation's final answers, 2xx and 4xx (400 bad input, 403, 404, 409 from the service) — a retry
  gets the same refusal until the key expires; a corrected request needs a new key. Not stored: 5xx (the
  request's transaction rolls back, the record with it, so a retry runs afresh — where Stripe would replay its
  500, ours wrote nothing), and refusals before the operation runs (401, 429, 415, a malformed body or key, 409 in
  progress, 422 reused).

Storage: ``IdempotencyRecord`` is written in the request's own transaction (``ApiViewMixin.dispatch`` wraps every
write in one), so a committed operation always has its record and a crash leaves neither. On a 4xx the operation
runs in a savepoint that the error handler rolls back, and the record of the refusal is kept in the outer
transaction. Expired records are ignored at once and deleted by a daily beat task (partnerships migration 0009).

Hand-written rather than ``django-idempotency-key`` (1.3.0, May 2023): that package is a middleware supporting
Django up to 4.2 (we run 5.2), keeps its records in its own store (Redis or cache) outside the request's
transaction — so a crash can leave the writes without their record, or the reverse — and documents neither keys
scoped per user nor refusing a reused key with another body. The rules above take less code than adapting it.
"""

from __future__ import annotations

import functools
import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from config.api_errors import error_response

from ..services.idempotency import (
    HEADER,
    KEY_MAX_LENGTH,
    KEY_SCHEMA_PATTERN,
    IdempotentRequest,
    body_sha256,
    idempotency_claim,
    idempotency_key_check,
    idempotency_store,
)

REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)  # answer headers a replay repeats

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type={"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_SCHEMA_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description=_(
        "Optional; 1 to 255 visible ASCII characters (no spaces), e.g. a UUID, unique per operation you mean. A retry with "
        "the same key and the same body within 24 hours (the default retention) gets the first answer again "
        "(same status and body, header Idempotent-Replayed: true) and writes nothing. Another body with the key: "
        "422; while the first request still runs: 409. Keys are your own: other users' keys never collide with "
        "yours. Error answers of the operation (4xx) are replayed too; server errors (5xx) are not stored."
    ),
)

IDEMPOTENCY_RESPONSES = {
    409: error_response(
        409,
        _(
            "A business rule refuses the change in the current state, or a request with the same "
            "Idempotency-Key is still being processed (code idempotency_key_in_progress)."
        ),
    ),
    422: error_response(
        422,
        _(
            "The Idempotency-Key was already used for a different request (code idempotency_key_reused); send "
            "a new key with a new request."
        ),
    ),
}


def _rendered(response: Response) -> str:
    # What the JSON renderer sends, as text: a replay renders json.loads() of it back to the same bytes.
    return "" if response.data is None else json.dumps(response.data, cls=JSONEncoder, ensure_ascii=False)


def _run(view, handler, request, args, kwargs) -> Response:
    """The operation in a savepoint; an error becomes its answer here, and the handler's rollback undoes only
    the savepoint, so the record of a refusal survives in the request's transaction."""
    with transaction.atomic():
        try:
            return handler(view, request, *args, **kwargs)
        except Exception as exc:  # every error is answered by the API's handler, as dispatch does
            return view.handle_exception(exc)


def idempotent(handler):
    """Give a viewset's write method (``create`` or an action) the Idempotency-Key semantics above."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        started_at = timezone.now()
        asked = IdempotentRequest(
            user=request.user,
            key=idempotency_key_check(raw),
            method=request.method,
            path=request.path,
            body_sha256=body_sha256(request.data),
        )
        # savepoint=False: joins the request's transaction (or opens one), whose commit carries both the
        # operation's writes and the record.
        with transaction.atomic(savepoint=False):
            record = idempotency_claim(asked)
            if record is not None:
                data = json.loads(record.response_body) if record.response_body else None
                headers = {**record.response_headers, REPLAYED_HEADER: "true"}
                return Response(data, status=record.status_code, headers=headers)
            response = _run(view, handler, request, args, kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # nothing of a failed request stays; a retry runs afresh
                return response
            idempotency_store(
                asked,
                status_code=response.status_code,
                body=_rendered(response),
                headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
                started_at=started_at,
            )
            return response

    return wrapper
