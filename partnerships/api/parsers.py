"""Request parsers that refuse oversized bodies (413) and JSON that cannot be stored (lone surrogates).

Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` is read, and DRF's JSON parser reads
the stream instead, so the limit is enforced here, before anything is read.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def check_size(parser_context) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
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


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        data = super().parse(stream, media_type, parser_context)
        try:
            # A lone surrogate ("\ud800") is valid JSON but no valid text: refuse it here, not in the database.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - the text is not valid Unicode.")) from None
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        return super().parse(stream, media_type, parser_context)
