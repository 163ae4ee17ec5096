"""One JSON error shape for the whole API, from one exception handler; and the schema class that documents it.

Every error answers::

    {"error": {"status": 400, "code": "invalid", "message": "title: This field is required.",
               "fields": {"title": ["This field is required."]}}}

``fields`` appears for bad input (nested fields as ``partners[0].role``); ``extra`` carries what a business
rule adds (e.g. the problems that stop a rubric version from being published). Mapped here: DRF's exceptions,
Django's ``ValidationError`` (400), ``Http404`` (404), ``PermissionDenied`` (403), the services' one error type
``partnerships.errors.ServiceError`` (its status: 400 with fields, 403, 404, 409), an oversized body (413), a
protected or conflicting row (409). Anything else
is logged and answered 500 in the same shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from partnerships.api.parsers import RequestTooLarge
from partnerships.errors import NON_FIELD, ServiceError

logger = logging.getLogger("config.api")

STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the data.")
    default_code = "conflict"


class RuleBroken(exceptions.APIException):
    """A ServiceError without field messages, carried through DRF with its status, code and extra data."""

    def __init__(self, exc: ServiceError):
        self.status_code = exc.status
        self.extra = dict(exc.extra or {})
        super().__init__(detail=force_str(exc.message), code=exc.code)


def _as_api_exception(exc):
    """Django and domain exceptions as DRF exceptions; None for anything unexpected."""
    if isinstance(exc, exceptions.APIException | Http404 | DjangoPermissionDenied):
        return exc
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    if isinstance(exc, ServiceError):
        if exc.fields and exc.status == 400:
            fields = {
                (api_settings.NON_FIELD_ERRORS_KEY if k == NON_FIELD else k): v for k, v in exc.fields.items()
            }
            return exceptions.ValidationError(detail=fields)
        return RuleBroken(exc)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ValidationError(detail={api_settings.NON_FIELD_ERRORS_KEY: [force_str(exc)]})
    if isinstance(exc, ProtectedError | RestrictedError):
        return Conflict(
            _("Other records still refer to this one, so it cannot be deleted."), code="protected"
        )
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error answered 409: %s", exc)
        return Conflict(_("The change conflicts with existing data; reload and try again."))
    return None


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as ``{"partners[0].role": ["…"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else key
            if key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                path = prefix  # errors of a nested object as a whole belong to the field that holds it
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            if detail:
                out.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).extend(str(i) for i in detail)
        else:
            for i, item in enumerate(detail):
                if isinstance(item, dict | list | tuple):
                    for k, v in _flatten(item, f"{prefix}[{i}]").items():
                        out.setdefault(k, []).extend(v)
                else:
                    out.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(item))
    else:
        out.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(detail))
    return out


def _first_code(detail) -> str | None:
    if isinstance(detail, dict):
        detail = next(iter(detail.values()), None)
        return _first_code(detail)
    if isinstance(detail, list | tuple):
        return _first_code(detail[0]) if detail else None
    return getattr(detail, "code", None)


def error_body(status_code: int, code: str, message: str, fields=None, extra=None) -> dict:
    error: dict = {"status": status_code, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    if extra:
        error["extra"] = extra
    return {"error": error}


def _rollback(context) -> None:
    """Roll the request's transaction back (ATOMIC_REQUESTS), unless the view runs outside one on purpose."""
    if getattr(context.get("view"), "atomic_request", True):
        set_rollback()


def api_exception_handler(exc, context):
    converted = _as_api_exception(exc)
    if converted is None:
        view = context.get("view")
        logger.exception("unhandled error in %s", view.__class__.__name__, exc_info=exc)
        _rollback(context)
        body = error_body(
            500, "server_error", str(_("Something went wrong on our side; it has been logged."))
        )
        return Response(body, status=500)
    if isinstance(converted, Http404):
        # Django's messages name the model ("No Initiative matches…") and are not translated: say "Not found."
        api_exc = exceptions.NotFound()
    elif isinstance(converted, DjangoPermissionDenied):
        api_exc = exceptions.PermissionDenied(*converted.args)
    else:
        api_exc = converted
    # As DRF's own handler: the authentication scheme on a 401, the wait on a 429.
    headers = {}
    if getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = api_exc.auth_header
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))
    _rollback(context)

    detail = api_exc.detail
    status_code = api_exc.status_code
    if isinstance(api_exc, exceptions.ValidationError):
        fields = _flatten(detail)
        first_field, first_messages = next(iter(fields.items()), ("", [str(_("Invalid input."))]))
        message = (
            first_messages[0]
            if first_field == api_settings.NON_FIELD_ERRORS_KEY
            else f"{first_field}: {first_messages[0]}"
        )
        body = error_body(status_code, "invalid", message, fields)
    else:
        code = _first_code(detail) or STATUS_CODES.get(status_code, "error")
        if status_code == 404:
            code = "not_found"  # "Invalid page." and "Invalid cursor" carry DRF's own codes
        message = (
            str(detail) if not isinstance(detail, dict | list) else next(iter(_flatten(detail).values()))[0]
        )
        body = error_body(status_code, code, message, extra=getattr(api_exc, "extra", None))
    return Response(body, status=status_code, headers=headers)


# --- The schema of errors ------------------------------------------------------------------------------
class ErrorDetailSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "status": serializers.IntegerField(help_text=_("The HTTP status, repeated.")),
            "code": serializers.CharField(
                help_text=_(
                    "Machine-readable: invalid, not_authenticated, authentication_failed, permission_denied, "
                    "not_found, method_not_allowed, conflict, immutable, request_too_large, "
                    "unsupported_media_type, throttled, …"
                )
            ),
            "message": serializers.CharField(help_text=_("For people, in the language of the request.")),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text=_("Bad input: messages by field; nested fields read partners[0].role."),
            ),
            "extra": serializers.DictField(
                required=False, help_text=_("What a broken business rule adds, e.g. problems.")
            ),
        }


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": _("Bad input: a field, a filter, the ordering or the pagination parameters."),
    "401": _("Not signed in: send Authorization: Token <token> (or use a session)."),
    "403": _("Signed in, but your role in the bank does not allow this."),
    "404": _("Not found — or it belongs to a bank you are not a member of; also an unknown page or cursor."),
    "409": _("A business rule refuses the change in the current state."),
    "413": _("The request body is larger than the limit."),
    "415": _("Send application/json."),
    "429": _("Too many requests; retry after the number of seconds in Retry-After."),
}


def error_response(code: int | str, description=None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS.get(str(code), ""))


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for ``extend_schema(responses={…, **errors(409)})``."""
    return {code: error_response(code) for code in codes}


class StrictFilterExtension(DjangoFilterExtension):
    """drf-spectacular's django-filter parameters, with the bounds the filters' form fields enforce.

    The form field's ``min_value`` / ``max_value`` / ``max_length`` become minimum / maximum / maxLength; a string
    filter is at least one character (``partnerships.api.filters.ApiFilterBackend`` refuses an empty filter) and a
    query parameter is never null (a nullable model field would otherwise make it ``["integer", "null"]``).
    """

    target_class = "partnerships.api.filters.ApiFilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        extra = filter_field.extra
        for parameter in parameters:
            schema = parameter["schema"]
            target = schema["items"] if schema.get("type") == "array" else schema
            if isinstance(target.get("type"), list):
                target["type"] = next(t for t in target["type"] if t != "null")
            if target.get("type") in ("integer", "number"):
                for key, bound in (("min_value", "minimum"), ("max_value", "maximum")):
                    if extra.get(key) is not None:
                        target[bound] = extra[key]
            elif target.get("type") == "string" and "enum" not in target and "format" not in target:
                target["minLength"] = 1
                if extra.get("max_length") is not None:
                    target["maxLength"] = extra["max_length"]
        return parameters


class EnglishSchemaGenerator(SchemaGenerator):
    """The schema in English whatever the request's (or the shell's) language.

    Component, parameter and enum names become the names of a generated client's types and arguments: they must
    not change with Accept-Language. The schema view and the ``spectacular`` command both generate through here
    (``SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]``); the lazy strings are rendered inside ``get_schema``.
    """

    def get_schema(self, request=None, public=False):
        with translation.override("en"):
            return super().get_schema(request=request, public=public)


class ApiAutoSchema(AutoSchema):
    """Adds the error responses every operation can give, so no endpoint documents only its happy path.

    Descriptions come only from ``extend_schema`` (or an action's own docstring): drf-spectacular would otherwise
    fall back to the view class's docstring, which is written for this code's maintainers, not for integrators.
    """

    def get_description(self) -> str:
        action_or_method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        return get_doc(action_or_method)

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # A blank-allowed URL, e-mail or patterned string: drf-spectacular writes oneOf [the format, an empty
        # string], but validators that do not assert formats find "" valid under both, and oneOf then fails.
        # anyOf says the same and holds for them too.
        if len(schema.get("oneOf") or []) == 2 and schema["oneOf"][1] == {"type": "string", "maxLength": 0}:
            schema["anyOf"] = schema.pop("oneOf")

    def _default_error_codes(self) -> list[str]:
        codes = ["429"]
        public = self.method in getattr(self.view, "public_methods", ()) or any(
            isinstance(p, AllowAny) or p is AllowAny for p in getattr(self.view, "permission_classes", [])
        )
        if not public:
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "413", "415"]
        elif self.method == "GET" and self._is_list_view():
            codes += ["400", "404"]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._default_error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(code), code, media_types=["application/json"], direction=direction
                )
        return dict(sorted(responses.items()))
