"""Shared model pieces: bilingual names and the tenant-scoped queryset."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..tenancy import TenantQuerySet


def prefers_english() -> bool:
    """Whether the active language is English (names then show their English form first)."""
    return (get_language() or "zh-hans").lower().startswith("en")


def bilingual_name(zh: str | None, en: str | None, english: bool | None = None) -> str:
    """The name in the active language, falling back to the other one (also for values() rows).

    ``english`` is ``prefers_english()`` computed once by a caller naming many rows."""
    # why: get_language() is a context-variable lookup through asgiref (~1 µs); a 50-row page names ~180
    # banks, pillars and partners, so the readers ask once per response and pass the answer in.
    if english is None:
        english = prefers_english()
    if english:
        return en or zh or ""
    return zh or en or ""


class BilingualNameModel(models.Model):
    """A name kept in Simplified Chinese and English; `name` picks the active language."""

    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return bilingual_name(self.name_zh_hans, self.name_en)


TenantManager = models.Manager.from_queryset(TenantQuerySet)
