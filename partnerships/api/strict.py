"""JSON strings in API bodies are strings.

DRF's ``CharField`` turns a number into a string (``{"note": 0}`` is stored as ``"0"``), while the OpenAPI
schema says ``type: string`` — the contract (issue 16) is that a body the schema refuses is refused, and
schemathesis's negative checks found ``note: 0`` accepted. ``CharField`` and its subclasses (e-mail, slug,
URL, regex) are made strict once, here, rather than in each of the ~90 declared and model-built string fields:
anything but a ``str`` is "Not a valid string." (400, with the field named). Bodies are JSON only (config.api),
so no legitimate client sends a number for a string; query parameters are strings already.
"""

from __future__ import annotations

from rest_framework import fields

_lenient = fields.CharField.to_internal_value


def _strict_to_internal_value(self, data):
    if not isinstance(data, str):
        self.fail("invalid")
    return _lenient(self, data)


def make_string_fields_strict() -> None:
    """Called once from PartnershipsConfig.ready()."""
    if fields.CharField.to_internal_value is not _strict_to_internal_value:
        fields.CharField.to_internal_value = _strict_to_internal_value
