"""The scoring app raises the one error type of the services (``partnerships.errors``), plus immutability."""

from partnerships.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound, ServiceError

__all__ = ["Conflict", "FieldErrors", "Forbidden", "ImmutableError", "Invalid", "NotFound", "ServiceError"]


class ImmutableError(Conflict):
    """A published rubric version, its criteria and scores never change."""

    code = "immutable"
