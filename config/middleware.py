"""Request hardening for every view, before anything reads the request: NUL bytes and body size.

- A NUL byte in the path or the query string answers 400 (under /api/ with the query parameters named): PostgreSQL cannot store or compare text holding one,
  so it would otherwise surface as a server error deep in a query.
- A body larger than the limit answers 413 whatever the method or the view, and whether or not the view reads
  the body: ``REQUEST_MAX_BYTES`` (5 MB) for every request, ``UPLOAD_MAX_BYTES`` for a multipart upload
  (evidence files up to ``EVIDENCE_MAX_BYTES`` plus the form around them).
- A chunked body (no Content-Length) is read here up to the limit and handed on with its length, so a view
  sees it like any other body; over the limit it is 413. Django alone would read a chunked body as empty and
  silently ignore it. A server that cannot tell where a chunked body ends (``wsgi.input_terminated`` unset,
  e.g. the development server) gets 411 Length Required instead of a hang.

Under /api/ the answers carry the API's JSON error shape; elsewhere they are plain text.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, unquote_to_bytes

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def request_limit(request) -> int:
    if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
        return settings.UPLOAD_MAX_BYTES
    return settings.REQUEST_MAX_BYTES


def _refuse(request, status: int, code: str, message: str, fields: dict | None = None) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        body = {"error": {"status": status, "code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return response


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self.check(request)
        return refused if refused is not None else self.get_response(request)

    def check(self, request) -> HttpResponse | None:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "\x00" in request.path or b"\x00" in unquote_to_bytes(query):
            named = [
                key.replace("\x00", "")
                for key, value in parse_qsl(query, keep_blank_values=True)
                if "\x00" in key or "\x00" in value
            ]
            return _refuse(
                request,
                400,
                "invalid",
                _("A NUL character is not allowed in the address."),
                fields={
                    key or "non_field_errors": [_("A NUL character is not allowed here.")] for key in named
                },
            )
        limit = request_limit(request)
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked:
            environ = getattr(request, "environ", {})
            if not environ.get("wsgi.input_terminated"):
                return _refuse(
                    request,
                    411,
                    "length_required",
                    _("Send the body with a Content-Length header; this server cannot read a chunked body."),
                )
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return self._too_large(request, limit, None)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "invalid", _("The Content-Length header is not a number."))
        if length > limit:
            return self._too_large(request, limit, length)
        return None

    @staticmethod
    def _too_large(request, limit: int, length: int | None) -> HttpResponse:
        if length is None:
            message = _("The request body is larger than the limit of %(limit)s bytes.") % {"limit": limit}
        else:
            message = _("The request body is %(size)s bytes; the limit is %(limit)s bytes.") % {
                "size": length,
                "limit": limit,
            }
        return _refuse(request, 413, "request_too_large", message)
