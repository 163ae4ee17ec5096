"""Admin widgets: the owner picker that offers the initiative bank's members, evidence files as downloads, and
decimals shown as entered."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.urls import reverse
from django.utils.html import format_html


class OwnerAutocomplete(AutocompleteSelect):
    """The owner autocomplete, asking for the members of the initiative's bank (``?bank=``).

    On a change page the bank is the initiative's; on the add page a small script sends the bank chosen in the
    form. ``partnerships.admin.users`` answers with the members of that bank, among the banks the user may write.
    """

    def __init__(self, field, admin_site, *, bank_id: int | None = None, **kwargs):
        super().__init__(field, admin_site, **kwargs)
        self.bank_id = bank_id

    def get_url(self):
        base = super().get_url()
        return f"{base}?{urlencode({'bank': self.bank_id})}" if self.bank_id else base

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-ajax-url-base"] = super().get_url()
        return attrs

    @property
    def media(self):
        return super().media + forms.Media(js=["partnerships/admin/owner_autocomplete.js"])


class EvidenceFileInput(forms.ClearableFileInput):
    """A stored file shows as a link to the checked download view (never MEDIA_URL), with no "clear" box:
    a file is not replaced in place; new evidence is recorded instead."""

    def render(self, name, value, attrs=None, renderer=None):
        instance = getattr(value, "instance", None)
        if value and instance is not None and getattr(instance, "pk", None):
            url = reverse("admin:partnerships_evidence_download", args=[instance.pk])
            return format_html('<a href="{}">{}</a>', url, instance.filename or value.name.rsplit("/", 1)[-1])
        return super().render(name, None, attrs, renderer)


class DecimalInput(forms.NumberInput):
    """A decimal as a person wrote it: 350, 10, 2.5 — not the column's 350.0000, 10.000, 2.5000."""

    def format_value(self, value):
        if isinstance(value, Decimal):
            value = value.normalize()
            return f"{value:f}"
        return super().format_value(value)
