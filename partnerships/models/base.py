"""Shared model pieces: bilingual names and the tenant-scoped queryset."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..tenancy import TenantQuerySet


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
        lang = (get_language() or "zh-hans").lower()
        if lang.startswith("en"):
            return self.name_en or self.name_zh_hans
        return self.name_zh_hans or self.name_en


TenantManager = models.Manager.from_queryset(TenantQuerySet)
