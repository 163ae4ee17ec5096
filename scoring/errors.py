"""Errors for broken business rules (as opposed to bad input, which is Django's ValidationError)."""


class ApplicationError(Exception):
    """A rule of the domain refuses the operation; ``status`` suggests the HTTP answer (409 by default)."""

    status = 409

    def __init__(self, message, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ImmutableError(ApplicationError):
    """A published rubric version, its criteria and scores never change."""
