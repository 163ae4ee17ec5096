"""The request id: one per request, on the response (X-Request-ID), every log line and the tasks it causes.

django-guid does the work: its middleware keeps the id in a context variable and returns it as a header, its
Celery integration carries it in the headers of every task published while it is set (``before_task_publish``)
and sets it again in the worker while the task runs (``task_prerun``), and ``ops.logging.RequestIdFilter`` puts
it on every log record. What this module adds is the check of an incoming id, which django-guid's options cannot
express: its own check accepts UUIDs only, refusing a proxy's ids (``req-7f3a…``); with it off, django-guid would
take anything, kilobytes included, into our logs and the ScoreJob row. So an incoming X-Request-ID is
kept only when it is 1–64 characters of ``A-Z a-z 0-9 . _ : -``; otherwise it is dropped here and django-guid
makes a new one (32 hex characters).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from django_guid import clear_guid, get_guid
from django_guid.context import guid

HEADER_META = "HTTP_X_REQUEST_ID"
SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # 64: ScoreJob.request_id's length


def is_sane(value: str) -> bool:
    return bool(SANE.fullmatch(value))


class RequestIdHeaderMiddleware:
    """Before django-guid's middleware: drop an incoming X-Request-ID that is not sane (a new one is made)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(HEADER_META)
        if incoming is not None and not is_sane(incoming):
            del request.META[HEADER_META]
            request.__dict__.pop("headers", None)  # request.headers is built once from META: build it anew
        return self.get_response(request)


def current_request_id() -> str:
    """The id of the request or task being handled here; "" outside both (a command, the shell, beat)."""
    value = get_guid() or ""
    return value if is_sane(value) else ""


def forget_request_id(**kwargs) -> None:
    clear_guid()


@contextmanager
def request_id_as(value: str):
    """Within the block, log and publish tasks under ``value`` (when it is a sane id; else leave things be)."""
    if not value or not is_sane(value):
        yield
        return
    token = guid.set(value)
    try:
        yield
    finally:
        guid.reset(token)
