"""The partner register: tech partners with their figures and licences (shared by every bank; edited by superusers),
and each bank's due diligence on a partner (analysts of that bank; another bank's records are not found).

A door to ``partnerships.services.partners``: forms ask the services whether the input is acceptable, and every
save and delete of a partner, a figure, a licence or a due-diligence record calls them.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from ..formatting import fmt_metric
from ..models import PartnerDueDiligence, PartnerLicence, PartnerMetric, TechPartner
from ..services.partners import (
    LICENCE_FIELDS,
    METRIC_FIELDS,
    PARTNER_FIELDS,
    due_diligence_create,
    due_diligence_update,
    due_diligence_validate,
    licence_create,
    licence_delete,
    licence_update,
    licence_validate,
    metric_create,
    metric_delete,
    metric_update,
    metric_validate,
    partner_create,
    partner_delete,
    partner_update,
    partner_validate,
)
from .base import ReadOnlyHistoryMixin, ServiceAdminMixin, ServiceInlineMixin, TenantScopedAdmin, adopt
from .filters import TenantBankFilter


def _form_data(form, cleaned: dict, names) -> dict:
    """A form's values for a service: every field of a new object, only the changed ones of an existing one."""
    changed = set(form.changed_data) if form.instance.pk else None
    return {n: cleaned[n] for n in names if n in cleaned and (changed is None or n in changed)}


def _row(form, names) -> dict:
    return _form_data(form, form.cleaned_data, names)


class PartnerLicenceInline(ServiceInlineMixin, admin.TabularInline):
    model = PartnerLicence
    fields = ["licence_type", "number", "issuer", "valid_until", "source"]
    extra = 0

    def service_validate_row(self, request, parent, form) -> None:
        licence = form.instance if form.instance.pk else None
        licence_validate(
            user=request.user, data=_row(form, LICENCE_FIELDS), licence=licence, partner=parent.pk or None
        )

    def service_create(self, request, parent, form) -> None:
        adopt(
            form.instance, licence_create(user=request.user, partner=parent, data=_row(form, LICENCE_FIELDS))
        )

    def service_update(self, request, obj, form) -> None:
        licence_update(user=request.user, licence=obj, data=_row(form, LICENCE_FIELDS))

    def service_delete(self, request, obj) -> None:
        licence_delete(user=request.user, licence=obj)


class PartnerMetricInline(ServiceInlineMixin, admin.TabularInline):
    model = PartnerMetric
    fields = ["metric", "segment", "part_of", "period", "period_end", "value", "unit", "source"]
    extra = 0

    def service_validate_row(self, request, parent, form) -> None:
        metric = form.instance if form.instance.pk else None
        metric_validate(
            user=request.user, data=_row(form, METRIC_FIELDS), metric=metric, partner=parent.pk or None
        )

    def service_create(self, request, parent, form) -> None:
        adopt(form.instance, metric_create(user=request.user, partner=parent, data=_row(form, METRIC_FIELDS)))

    def service_update(self, request, obj, form) -> None:
        metric_update(user=request.user, metric=obj, data=_row(form, METRIC_FIELDS))

    def service_delete(self, request, obj) -> None:
        metric_delete(user=request.user, metric=obj)


@admin.register(TechPartner)
class TechPartnerAdmin(ServiceAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = [
        "key",
        "name_zh_hans",
        "name_en",
        "kind",
        "related_party_group",
        "is_illustrative",
        "ticker",
    ]
    list_filter = ["kind", "is_illustrative"]
    search_fields = ["key", "name_zh_hans", "name_en", "ticker", "related_party_group"]
    fieldsets = [
        (None, {"fields": ["key", "name_zh_hans", "name_en", "ticker", "kind", "is_illustrative"]}),
        (_("Related parties"), {"fields": ["related_party_group"]}),
        (_("Description"), {"fields": ["description_zh_hans", "description_en"]}),
    ]
    inlines = [PartnerLicenceInline, PartnerMetricInline]

    def get_readonly_fields(self, request, obj=None):
        # The key names the partner in files and API payloads: set once.
        return ["key"] if obj is not None else []

    def service_validate(self, request, form, cleaned) -> None:
        partner = form.instance if form.instance.pk else None
        partner_validate(user=request.user, data=_form_data(form, cleaned, PARTNER_FIELDS), partner=partner)

    def save_model(self, request, obj, form, change):
        data = _form_data(form, form.cleaned_data, PARTNER_FIELDS)
        if change:
            saved = partner_update(user=request.user, partner=obj.pk, data=data)
        else:
            saved = partner_create(user=request.user, data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        partner_delete(user=request.user, partner=obj)


@admin.register(PartnerMetric)
class PartnerMetricAdmin(ServiceAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["partner", "metric", "segment", "part_of", "period", "figure"]
    list_filter = ["metric", "partner", "period", "unit"]
    search_fields = ["partner__name_zh_hans", "partner__name_en", "metric", "segment", "source"]
    list_select_related = ["partner"]

    @admin.display(description=_("value"), ordering="value")
    def figure(self, obj: PartnerMetric) -> str:
        """The value with its unit as every page shows it (1,671.93亿元, 43%), not the stored 1671.9300."""
        return fmt_metric(obj.value, obj.unit)

    def service_validate(self, request, form, cleaned) -> None:
        metric = form.instance if form.instance.pk else None
        partner = cleaned.get("partner")
        metric_validate(
            user=request.user,
            data=_form_data(form, cleaned, METRIC_FIELDS),
            metric=metric,
            partner=partner.pk if partner is not None else None,
        )

    def save_model(self, request, obj, form, change):
        data = _form_data(form, form.cleaned_data, METRIC_FIELDS)
        partner = form.cleaned_data.get("partner")
        if change:
            saved = metric_update(user=request.user, metric=obj.pk, data=data, partner=partner)
        else:
            saved = metric_create(user=request.user, partner=partner, data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        metric_delete(user=request.user, metric=obj)


@admin.register(PartnerDueDiligence)
class PartnerDueDiligenceAdmin(ServiceAdminMixin, TenantScopedAdmin):
    """A bank's due diligence on a partner. History, so never deleted: the next review is a new record."""

    list_display = [
        "partner",
        "bank",
        "inherent_risk_tier",
        "performed_on",
        "next_due",
        "overdue",
        "performed_by",
    ]
    list_filter = ["inherent_risk_tier", ("bank", TenantBankFilter), "partner__kind"]
    search_fields = ["partner__key", "partner__name_zh_hans", "partner__name_en"]
    list_select_related = ["bank", "partner", "performed_by"]
    autocomplete_fields = ["partner"]
    date_hierarchy = "performed_on"
    fields = ["bank", "partner", "inherent_risk_tier", "performed_on", "next_due", "answers", "performed_by"]

    def get_readonly_fields(self, request, obj=None):
        # A record stays with its bank and partner; who recorded it is the service's to say.
        return ["bank", "partner", "performed_by"] if obj is not None else ["performed_by"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("review overdue"), boolean=True)
    def overdue(self, obj: PartnerDueDiligence) -> bool:
        return obj.next_due < timezone.localdate()

    @staticmethod
    def _data(form, cleaned: dict) -> dict:
        names = ("bank", "partner", "answers", "inherent_risk_tier", "performed_on", "next_due")
        return _form_data(form, cleaned, names)

    def service_validate(self, request, form, cleaned) -> None:
        record = form.instance if form.instance.pk else None
        due_diligence_validate(user=request.user, data=self._data(form, cleaned), record=record)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = due_diligence_update(user=request.user, record=obj.pk, data=data)
        else:
            saved = due_diligence_create(user=request.user, data=data)
        adopt(obj, saved)
