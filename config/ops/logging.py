"""Logging: the request id on every record, and the plain format's placeholder when there is none."""

from __future__ import annotations

import logging

from django_guid.context import guid


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id``: the id of the request or task being handled, or None (JSON: null)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = guid.get()
        return True


class PlainFormatter(logging.Formatter):
    """The plain format, with ``-`` for a record outside any request or task."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is not None:
            return super().format(record)
        record.request_id = "-"
        try:
            return super().format(record)
        finally:
            record.request_id = None
