"""Request parsers that refuse what cannot be stored or walked safely: oversized bodies (413), JSON nested
deeper than ``API_MAX_JSON_DEPTH`` (400), lone surrogates (400), and
NUL characters anywhere in the data (400 with the field named: PostgreSQL cannot store them).

``config.middleware.RequestGuardMiddleware`` refuses oversized bodies (chunked ones too) for every view; the
check here repeats it for a parser used outside that stack.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def check_size(parser_context, limit: int | None = None) -> None:
    limit = settings.REQUEST_MAX_BYTES if limit is None else limit
    request = (parser_context or {}).get("request")
    if request is None or limit is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        length = 0
    if length > limit:
        raise RequestTooLarge(
            _("The request body is %(size)s bytes; the limit is %(limit)s bytes.")
            % {"size": length, "limit": limit}
        )


NUL_MESSAGE = _("A NUL character is not allowed here.")


def _nul_refused(path: str) -> ValidationError:
    # A field error (400 "invalid", the field named) like any other bad value, not a parse error: the JSON is
    # well-formed, one value in it cannot be stored.
    return ValidationError({path or "non_field_errors": [NUL_MESSAGE]}, code="invalid")


def check_json(data) -> None:
    """Depth, NUL and valid Unicode of parsed JSON, walked without recursion (every node once)."""
    limit = settings.API_MAX_JSON_DEPTH
    stack = [(data, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                raise ParseError(_("The JSON is nested deeper than %(limit)s levels.") % {"limit": limit})
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    _check_string(key, where)
                stack.append((value, depth + 1, where))
        elif isinstance(node, str):
            _check_string(node, path)


def _check_string(value: str, path: str) -> None:
    if "\x00" in value:
        raise _nul_refused(path)
    try:
        # A lone surrogate ("\ud800") is valid JSON but no valid text: refuse it here, not in the database.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(_("JSON parse error - the text is not valid Unicode.")) from None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than the interpreter's own limit
            raise ParseError(
                _("The JSON is nested deeper than %(limit)s levels.") % {"limit": settings.API_MAX_JSON_DEPTH}
            ) from None
        check_json(data)
        return data


def _check_query_dict(data) -> None:
    for key, values in data.lists():
        for value in [key, *values]:
            if isinstance(value, str) and "\x00" in value:
                raise _nul_refused(key.replace("\x00", ""))


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        data = super().parse(stream, media_type, parser_context)
        _check_query_dict(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context, settings.UPLOAD_MAX_BYTES)
        result = super().parse(stream, media_type, parser_context)
        _check_query_dict(result.data)
        return result
