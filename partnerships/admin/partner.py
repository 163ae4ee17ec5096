"""Tech partners and their reference figures (shared by every bank; edited by superusers)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from ..models import PartnerMetric, TechPartner
from .base import ReadOnlyHistoryMixin


class PartnerMetricInline(admin.TabularInline):
    model = PartnerMetric
    fields = ["metric", "segment", "period", "period_end", "value", "unit", "source"]
    extra = 0


@admin.register(TechPartner)
class TechPartnerAdmin(ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["key", "name_zh_hans", "name_en", "ticker"]
    search_fields = ["key", "name_zh_hans", "name_en", "ticker"]
    inlines = [PartnerMetricInline]


@admin.register(PartnerMetric)
class PartnerMetricAdmin(ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["partner", "metric", "segment", "period", "value", "unit"]
    list_filter = ["metric", "partner", "period", "unit"]
    search_fields = ["partner__name_zh_hans", "partner__name_en", "metric", "segment", "source"]
    list_select_related = ["partner"]
