"""The pillar and scenario-type taxonomy (reference data from the seed)."""

from django.contrib import admin

from ..models import Pillar, ScenarioType
from .localize import HideLinkRowsMixin


class ScenarioTypeInline(admin.TabularInline):
    model = ScenarioType
    fields = ["key", "name_zh_hans", "name_en", "group", "position"]
    extra = 0


@admin.register(Pillar)
class PillarAdmin(HideLinkRowsMixin, admin.ModelAdmin):
    list_display = ["key", "name_zh_hans", "name_en", "position"]
    inlines = [ScenarioTypeInline]


@admin.register(ScenarioType)
class ScenarioTypeAdmin(HideLinkRowsMixin, admin.ModelAdmin):
    list_display = ["key", "name_zh_hans", "name_en", "pillar", "group", "position"]
    list_filter = ["pillar", "group"]
    search_fields = ["key", "name_zh_hans", "name_en"]
