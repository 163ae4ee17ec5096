"""KPI admin with its observations inline, and evidence on its own list with its checked download.

Both are doors to ``partnerships.services.kpis`` and ``partnerships.services.evidence``: forms ask those services
what is valid; saves and deletes call them.
"""

from django.contrib import admin
from django.db import models
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _

from ..downloads import evidence_response
from ..errors import ServiceError
from ..formatting import fmt_figure
from ..models import KPI, Evidence, KPIObservation
from ..services.evidence import (
    evidence_create,
    evidence_delete,
    evidence_open,
    evidence_update,
    evidence_validate,
)
from ..services.kpis import (
    KPI_FIELDS,
    OBSERVATION_FIELDS,
    kpi_create,
    kpi_delete,
    kpi_update,
    kpi_validate,
    observation_create,
    observation_delete,
    observation_update,
    observation_validate,
)
from .base import ServiceAdminMixin, ServiceInlineMixin, TenantScopedAdmin, TenantScopedMixin, adopt
from .widgets import EvidenceFileInput


def _fields(cleaned: dict, names) -> dict:
    return {name: cleaned[name] for name in names if name in cleaned}


class KPIObservationInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    model = KPIObservation
    fields = ["observed_on", "value", "note"]
    extra = 1

    def service_validate_row(self, request, parent, form) -> None:
        observation = form.instance if form.instance.pk else None
        data = _fields(form.cleaned_data, OBSERVATION_FIELDS)
        observation_validate(user=request.user, data={**data, "kpi": parent.pk}, observation=observation)

    def service_create(self, request, parent, form) -> None:
        observation_create(user=request.user, kpi=parent, data=_fields(form.cleaned_data, OBSERVATION_FIELDS))

    def service_update(self, request, obj, form) -> None:
        observation_update(
            user=request.user, observation=obj, data=_fields(form.cleaned_data, OBSERVATION_FIELDS)
        )

    def service_delete(self, request, obj) -> None:
        observation_delete(user=request.user, observation=obj)


@admin.register(KPI)
class KPIAdmin(ServiceAdminMixin, TenantScopedAdmin):
    inlines = [KPIObservationInline]
    list_display = ["name", "initiative", "cost_driver", "baseline_value", "target_value", "latest_value"]
    list_filter = ["cost_driver", "initiative__pillar"]
    search_fields = ["name", "initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    list_select_related = ["initiative"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("observations")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # observations of a saved KPI

    # Figures as every page shows them (partnerships.formatting): 1,250.5 rather than the stored 1250.5000.
    @admin.display(description=_("baseline"), ordering="baseline")
    def baseline_value(self, obj: KPI):
        return fmt_figure(obj.baseline)

    @admin.display(description=_("target"), ordering="target")
    def target_value(self, obj: KPI):
        return fmt_figure(obj.target) or "—"

    @admin.display(description=_("latest value"))
    def latest_value(self, obj: KPI):
        observations = sorted(obj.observations.all(), key=lambda o: o.observed_on)
        return fmt_figure(observations[-1].value) if observations else "—"

    def _data(self, form, cleaned) -> dict:
        data = _fields(cleaned, KPI_FIELDS)
        if "initiative" in cleaned and cleaned["initiative"] is not None:
            data["initiative"] = cleaned["initiative"].pk
        return data

    def service_validate(self, request, form, cleaned) -> None:
        kpi_validate(user=request.user, data=self._data(form, cleaned), kpi=form.instance)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = kpi_update(user=request.user, kpi=obj.pk, data=data)
        else:
            saved = kpi_create(user=request.user, initiative=data.pop("initiative", None), data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        kpi_delete(user=request.user, kpi=obj)


@admin.register(Evidence)
class EvidenceAdmin(ServiceAdminMixin, TenantScopedAdmin):
    list_display = ["__str__", "initiative", "kind", "uploaded_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["note", "url", "filename", "initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    readonly_fields = ["uploaded_by", "created_at"]
    list_select_related = ["initiative", "uploaded_by"]
    formfield_overrides = {
        **TenantScopedMixin.formfield_overrides,
        models.FileField: {"widget": EvidenceFileInput},
    }

    def get_fields(self, request, obj=None):
        return ["initiative", "kind", "file", "url", "note", "uploaded_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A stored file is not replaced and evidence does not move between initiatives; the note can change.
        return [*self.readonly_fields, "initiative", "kind"] if obj is not None else self.readonly_fields

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name=f"{info[0]}_{info[1]}_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, object_id):
        """The file, streamed to a member of its bank (the tenant-scoped queryset, then the service's check)."""
        evidence = (
            self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        )
        if evidence is None or not self.has_view_permission(request, evidence):
            raise Http404
        try:
            return evidence_response(evidence_open(user=request.user, evidence=evidence))
        except ServiceError as exc:
            raise Http404(exc.message) from exc

    def _data(self, form, cleaned) -> dict:
        data = _fields(cleaned, ("kind", "url", "note"))
        if "file" in form.changed_data and cleaned.get("file"):
            data["file"] = cleaned["file"]
        if not form.instance.pk and cleaned.get("initiative") is not None:
            data["initiative"] = cleaned["initiative"].pk
        return data

    def service_validate(self, request, form, cleaned) -> None:
        evidence = form.instance if form.instance.pk else None
        evidence_validate(user=request.user, data=self._data(form, cleaned), evidence=evidence)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = evidence_update(user=request.user, evidence=obj.pk, data=data)
        else:
            saved = evidence_create(user=request.user, initiative=data.pop("initiative", None), data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        evidence_delete(user=request.user, evidence=obj)
