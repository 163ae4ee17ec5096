"""One error type for every refused change of state, raised by the services and read by every door.

A service checks everything itself (input, roles, tenancy, state) and raises a ``ServiceError``; the admin turns
it into form errors or a message, the API into its JSON error shape with the status below, the import into row
errors and a management command into an exit naming the field. ``scoring`` imports these too (``partnerships``
never imports ``scoring``), so both apps raise the same type.

- ``Invalid`` (400): bad input; ``fields`` holds messages by field name (``ratings[2]``, ``partners``).
- ``Forbidden`` (403): the user may see the object but their role in its bank does not allow the change.
- ``NotFound`` (404): the object does not exist or belongs to a bank the user cannot see.
- ``Conflict`` (409): the change breaks a rule in the current state (a submitted assessment's ratings, a
  published rubric version, an approval that another manager has just made).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError

NON_FIELD = "non_field_errors"


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message=None,
        *,
        fields: Mapping[str, list | str] | None = None,
        code: str | None = None,
        extra: dict | None = None,
    ):
        self.fields: dict[str, list[str]] = {}
        for name, messages in (fields or {}).items():
            items = messages if isinstance(messages, list | tuple) else [messages]
            self.fields[str(name)] = [str(m) for m in items]
        if message is None:
            message = self._first_message()
        self.message = str(message)
        if code:
            self.code = code
        self.extra = dict(extra or {})
        super().__init__(self.message)

    def _first_message(self) -> str:
        for name, messages in self.fields.items():
            if messages:
                return messages[0] if name == NON_FIELD else f"{name}: {messages[0]}"
        return ""

    def messages(self) -> list[str]:
        """Every message, each prefixed with its field (for a command's output or an admin message)."""
        if not self.fields:
            return [self.message]
        return [
            m if name == NON_FIELD else f"{name}: {m}" for name, items in self.fields.items() for m in items
        ]

    def as_validation_error(self) -> ValidationError:
        """For Django forms and django-import-export, which speak ValidationError."""
        if self.fields:
            return ValidationError(
                {("__all__" if k == NON_FIELD else k): v for k, v in self.fields.items()}, code=self.code
            )
        return ValidationError(self.message, code=self.code)


class Invalid(ServiceError):
    status = 400
    code = "invalid"

    @classmethod
    def from_validation_error(cls, exc: ValidationError, *, prefix: str = "") -> Invalid:
        """A model's ``full_clean`` errors as an Invalid, keyed by field (``__all__`` → non-field)."""
        if hasattr(exc, "error_dict"):
            fields = {
                (f"{prefix}{k}" if k != "__all__" else (prefix.rstrip(".") or NON_FIELD)): list(v)
                for k, v in exc.message_dict.items()
            }
        else:
            fields = {prefix.rstrip(".") or NON_FIELD: list(exc.messages)}
        return cls(fields=fields)


class Forbidden(ServiceError):
    status = 403
    code = "permission_denied"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class FieldErrors(dict):
    """Messages collected by field while a service checks its input; ``raise_if_any`` raises them together."""

    def add(self, field: str, message) -> None:
        self.setdefault(field, []).append(str(message))

    def merge(self, exc: ServiceError) -> None:
        for name, messages in exc.fields.items():
            for message in messages:
                self.add(name, message)
        if not exc.fields:
            self.add(NON_FIELD, exc.message)

    def raise_if_any(self) -> None:
        if self:
            raise Invalid(fields=dict(self))
