"""KPI admin with its observations inline, and evidence on its own list."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import KPI, Evidence, KPIObservation
from .base import TenantScopedAdmin, TenantScopedMixin


class KPIObservationInline(TenantScopedMixin, admin.TabularInline):
    model = KPIObservation
    fields = ["observed_on", "value", "note"]
    extra = 1


@admin.register(KPI)
class KPIAdmin(TenantScopedAdmin):
    inlines = [KPIObservationInline]
    list_display = ["name", "initiative", "cost_driver", "baseline", "target", "latest_value"]
    list_filter = ["cost_driver", "initiative__pillar"]
    search_fields = ["name", "initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    list_select_related = ["initiative"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("observations")

    @admin.display(description=_("latest value"))
    def latest_value(self, obj: KPI):
        observations = sorted(obj.observations.all(), key=lambda o: o.observed_on)
        return observations[-1].value if observations else "—"


@admin.register(Evidence)
class EvidenceAdmin(TenantScopedAdmin):
    list_display = ["__str__", "initiative", "kind", "uploaded_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["note", "url", "initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    readonly_fields = ["uploaded_by", "created_at"]
    list_select_related = ["initiative", "uploaded_by"]

    def save_model(self, request, obj, form, change):
        if obj.uploaded_by_id is None:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
