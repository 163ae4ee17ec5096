"""The partnership lifecycle in the admin (issue 14, ``docs/lifecycle.md``): monitoring events, the contract and
exit register, each bank's re-assessment policy and the log of weekly reminders — and the initiatives' next
re-assessment date (a list column and a filter, ``ReassessmentFilter``, used by ``InitiativeAdmin``).

Every save and delete is a door to ``partnerships.services.lifecycle``: the forms ask the services what is valid.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ..auth import register_model_rule
from ..choices import ReassessmentState
from ..lifecycle import reassessment_annotate
from ..models import MonitoringEvent, PartnershipContract, ReassessmentPolicy, ReassessmentReminder
from ..services.lifecycle import (
    CONTRACT_FIELDS,
    EVENT_FIELDS,
    POLICY_FIELDS,
    POLICY_ROLE,
    contract_create,
    contract_delete,
    contract_update,
    contract_validate,
    monitoring_event_create,
    monitoring_event_delete,
    monitoring_event_update,
    monitoring_event_validate,
    reassessment_policy_set,
)
from ..tenancy import require_bank_role
from .base import ServiceAdminMixin, TenantScopedAdmin, TenantScopedMixin, adopt
from .filters import TenantBankFilter

register_model_rule("partnerships", "monitoringevent", "viewer", "analyst")
register_model_rule("partnerships", "partnershipcontract", "viewer", "analyst")
register_model_rule("partnerships", "reassessmentpolicy", "viewer", POLICY_ROLE)
register_model_rule("partnerships", "reassessmentreminder", "viewer", None)


def _fields(cleaned: dict, names) -> dict:
    return {name: cleaned[name] for name in names if name in cleaned}


# --- on the initiatives' list -----------------------------------------------------------------------------------
class ReassessmentFilter(admin.SimpleListFilter):
    """Overdue, due within 30 days, not due (``partnerships.lifecycle``)."""

    title = _("re-assessment")
    parameter_name = "reassessment"

    def lookups(self, request, model_admin):
        return ReassessmentState.choices

    def queryset(self, request, queryset):
        if self.value() in ReassessmentState.values:
            return queryset.filter(reassessment_state=self.value())
        return queryset


def with_reassessment(queryset):
    """The initiatives' queryset with their re-assessment dates (the list column and the filter read them)."""
    return reassessment_annotate(queryset, today=timezone.localdate())


@admin.display(description=_("next re-assessment"), ordering="next_reassessment_on")
def next_reassessment(obj) -> str:
    due = getattr(obj, "next_reassessment_on", None)
    if due is None or getattr(obj, "reassessment_state", None) is None:
        return "—"
    english = (translation.get_language() or "").startswith("en")
    opening, closing = (" (", ")") if english else ("（", "）")
    notes = [str(ReassessmentState(obj.reassessment_state).label)]
    if getattr(obj, "reassessment_required", False):
        notes.append(str(_("re-assessment required")))
    return due.isoformat() + opening + (", " if english else "，").join(notes) + closing


# --- monitoring events ----------------------------------------------------------------------------------------------
@admin.register(MonitoringEvent)
class MonitoringEventAdmin(ServiceAdminMixin, TenantScopedAdmin):
    list_display = [
        "occurred_on",
        "initiative",
        "kind",
        "severity",
        "status",
        "remediation_owner",
        "remediation_due_on",
    ]
    list_filter = ["severity", "status", "kind", ("initiative__bank", TenantBankFilter)]
    search_fields = ["description", "initiative__code", "initiative__title"]
    autocomplete_fields = ["initiative", "remediation_owner"]
    list_select_related = ["initiative", "remediation_owner"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    date_hierarchy = "occurred_on"
    fields = ["initiative", *EVENT_FIELDS, "created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # An event stays with its initiative.
        return [*self.readonly_fields, "initiative"] if obj is not None else self.readonly_fields

    def _data(self, cleaned) -> dict:
        data = _fields(cleaned, EVENT_FIELDS)
        if cleaned.get("initiative") is not None:
            data["initiative"] = cleaned["initiative"].pk
        return data

    def service_validate(self, request, form, cleaned) -> None:
        monitoring_event_validate(user=request.user, data=self._data(cleaned), event=form.instance)

    def save_model(self, request, obj, form, change):
        data = self._data(form.cleaned_data)
        if change:
            data.pop("initiative", None)
            saved = monitoring_event_update(user=request.user, event=obj.pk, data=data)
        else:
            saved = monitoring_event_create(
                user=request.user, initiative=data.pop("initiative", None), data=data
            )
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        monitoring_event_delete(user=request.user, event=obj)


# --- the contract and exit register ----------------------------------------------------------------------------------
@admin.register(PartnershipContract)
class PartnershipContractAdmin(ServiceAdminMixin, TenantScopedAdmin):
    list_display = [
        "initiative",
        "reference",
        "ends_on",
        "critical_function",
        "audit_rights",
        "data_return_and_destruction",
        "exit_plan_last_tested_on",
    ]
    list_filter = [
        "critical_function",
        "audit_rights",
        "data_return_and_destruction",
        ("initiative__bank", TenantBankFilter),
    ]
    search_fields = ["reference", "initiative__code", "initiative__title", "alternative_provider"]
    autocomplete_fields = ["initiative"]
    list_select_related = ["initiative"]
    readonly_fields = ["updated_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["initiative", "reference", "critical_function"]}),
        (
            _("Term"),
            {"fields": ["signed_on", "starts_on", "ends_on", "auto_renews", "notice_days"]},
        ),
        (
            _("Rights and service levels"),
            {
                "fields": [
                    "audit_rights",
                    "data_return_and_destruction",
                    "sla_summary",
                    "sla_availability_percent",
                ]
            },
        ),
        (
            _("Exit"),
            {
                "description": _(
                    "Exit readiness is capped by this register: no exit plan 0, never tested 1, tested more than "
                    "two years ago 2, tested within two years 3, with data return and destruction terms and a "
                    "named alternative provider 4. Unknown counts as no."
                ),
                "fields": ["exit_plan", "exit_plan_last_tested_on", "alternative_provider"],
            },
        ),
        (None, {"fields": ["updated_by", "created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "initiative"] if obj is not None else self.readonly_fields

    def _data(self, cleaned) -> dict:
        data = _fields(cleaned, CONTRACT_FIELDS)
        if cleaned.get("initiative") is not None:
            data["initiative"] = cleaned["initiative"].pk
        return data

    def service_validate(self, request, form, cleaned) -> None:
        contract_validate(user=request.user, data=self._data(cleaned), contract=form.instance)

    def save_model(self, request, obj, form, change):
        data = self._data(form.cleaned_data)
        if change:
            data.pop("initiative", None)
            saved = contract_update(user=request.user, contract=obj.pk, data=data)
        else:
            saved = contract_create(user=request.user, initiative=data.pop("initiative", None), data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        contract_delete(user=request.user, contract=obj)


# --- the re-assessment policy and the reminders' log ----------------------------------------------------------------
@admin.register(ReassessmentPolicy)
class ReassessmentPolicyAdmin(ServiceAdminMixin, TenantScopedAdmin):
    edit_role = POLICY_ROLE
    list_display = ["bank", *POLICY_FIELDS, "updated_at"]
    fields = ["bank", *POLICY_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ["bank"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # a bank keeps its policy; set it back to the defaults instead

    def service_validate(self, request, form, cleaned) -> None:
        bank = cleaned.get("bank") or getattr(form.instance, "bank", None)
        if bank is not None:
            require_bank_role(request.user, bank.pk, min_role=POLICY_ROLE)

    def save_model(self, request, obj, form, change):
        saved = reassessment_policy_set(
            user=request.user, bank=obj.bank_id, data=_fields(form.cleaned_data, POLICY_FIELDS)
        )
        adopt(obj, saved)


@admin.register(ReassessmentReminder)
class ReassessmentReminderAdmin(TenantScopedMixin, admin.ModelAdmin):
    list_display = ["week", "bank", "initiatives", "messages", "sent_at"]
    list_filter = [("bank", TenantBankFilter)]
    date_hierarchy = "week"

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
