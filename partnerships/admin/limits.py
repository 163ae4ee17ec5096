"""Exposure limits and their breaches in the admin.

Limits (reference data): every member reads the regulatory limits and their own banks' limits; regulatory limits are
changed by superusers only (they arrive as files: ``manage.py load_limits``), a bank's own limits by its managers —
through ``partnerships.services.limit_register``, which checks everything. Limits are versioned and never deleted:
one stops applying at its ``valid until``. Breaches (daily work): read-only, scoped to the user's banks, written by
the daily check only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from ..auth import register_model_rule
from ..choices import BankType, LendingProduct
from ..limit_text import describe_limit
from ..models import Bank, LimitBreach, LimitRule
from ..services.limit_register import (
    LIMIT_ROLE,
    RULE_FIELDS,
    limit_rule_create,
    limit_rule_update,
    limit_rule_validate,
)
from ..tenancy import bank_ids_for, user_has_bank_role
from .base import ReadOnlyHistoryMixin, ServiceAdminMixin, TenantScopedMixin, adopt
from .filters import TenantBankFilter

# Members view limits and breaches; managers add and change their banks' own limits (object checks below).
register_model_rule("partnerships", "limitrule", "viewer", LIMIT_ROLE)
register_model_rule("partnerships", "limitbreach", "viewer", None)


class LimitRuleForm(forms.ModelForm):
    products = forms.MultipleChoiceField(
        label=_("products"),
        choices=LendingProduct.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Lending products counted; none ticked means all."),
    )
    bank_types = forms.MultipleChoiceField(
        label=_("bank types"),
        choices=BankType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Bank types it applies to; none ticked means all."),
    )

    class Meta:
        model = LimitRule
        fields = RULE_FIELDS
        help_texts = {
            "threshold_percent": _(
                "A minimum for the partner's funded share, a maximum for the other kinds (0 for out-of-region "
                "lending: none allowed). A bank's own limit may take any value: the regulatory limit still applies "
                "beside it."
            ),
            "warning_percent": _(
                "Warn at this share of the threshold; blank: the bank's early-warning level."
            ),
            "key": _("Lower-case letters, digits, _ and -; a new version of a limit keeps its key."),
        }


@admin.register(LimitRule)
class LimitRuleAdmin(ServiceAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = LimitRuleForm
    list_display = [
        "__str__",
        "scope",
        "kind",
        "threshold_percent",
        "warning_percent",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["kind", ("bank", TenantBankFilter), "valid_from"]
    search_fields = ["key", "name_zh_hans", "name_en"]
    list_select_related = ["bank"]
    fieldsets = [
        (None, {"fields": ["bank", "key", "version", "kind", "threshold_percent", "warning_percent"]}),
        (_("Scope"), {"fields": ["products", "bank_types", "valid_from", "valid_until"]}),
        (_("Name and source"), {"fields": ["name_zh_hans", "name_en", "source_zh_hans", "source_en"]}),
    ]

    @admin.display(description=_("scope"), ordering="bank__code")
    def scope(self, obj: LimitRule) -> str:
        return str(obj.bank) if obj.bank_id else str(_("Regulatory"))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = bank_ids_for(request.user)
        if ids is None:
            return queryset
        return queryset.filter(Q(bank__isnull=True) | Q(bank_id__in=ids))

    # --- who may change what ---------------------------------------------------------------------------------
    def _may_edit(self, request, obj) -> bool:
        user = request.user
        if user.is_active and user.is_superuser:
            return True
        if obj is None:
            return bool(bank_ids_for(user, min_role=LIMIT_ROLE))
        return obj.bank_id is not None and user_has_bank_role(user, obj.bank_id, min_role=LIMIT_ROLE)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_edit(request, None)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # versioned: a limit stops applying at its "valid until", and breaches keep naming it

    def get_readonly_fields(self, request, obj=None):
        # A limit keeps its bank, key and version: a change of substance is the next version.
        return ["bank", "key", "version"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "bank":
            user = request.user
            kwargs["queryset"] = Bank.objects.for_user(user, min_role=LIMIT_ROLE)
            kwargs["required"] = not (user.is_active and user.is_superuser)
            kwargs.setdefault("error_messages", {"invalid_choice": _("Choose one of your banks.")})
            kwargs.setdefault("help_text", _("Blank for a regulatory limit (superusers only)."))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- the service door --------------------------------------------------------------------------------------
    @staticmethod
    def _data(form, cleaned: dict) -> dict:
        names = [n for n in RULE_FIELDS if n in cleaned]
        if form.instance.pk:
            changed = set(form.changed_data)
            names = [n for n in names if n in changed]
        data = {n: cleaned[n] for n in names}
        if "bank" in data:
            data["bank"] = data["bank"].pk if data["bank"] is not None else None
        return data

    def service_validate(self, request, form, cleaned) -> None:
        rule = form.instance if form.instance.pk else None
        limit_rule_validate(user=request.user, data=self._data(form, cleaned), rule=rule)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = limit_rule_update(user=request.user, rule=obj.pk, data=data)
        else:
            saved = limit_rule_create(user=request.user, data=data)
        adopt(obj, saved)

    # --- history: only of the limits the user may see ---------------------------------------------------------
    def _require_visible(self, request, object_id) -> None:
        try:
            visible = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(LimitBreach)
class LimitBreachAdmin(TenantScopedMixin, admin.ModelAdmin):
    """Breaches found by the daily check: what a manager acts on. Written by the check only."""

    list_display = [
        "rule",
        "bank",
        "subject",
        "period_end",
        "value_percent",
        "threshold_percent",
        "detected_at",
        "notified_at",
        "resolved_at",
    ]
    list_filter = [("bank", TenantBankFilter), "rule__kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "rule__key", "rule__name_zh_hans", "rule__name_en"]
    list_select_related = ["bank", "rule"]
    date_hierarchy = "detected_at"
    readonly_fields = [
        "rule",
        "bank",
        "subject",
        "period_end",
        "value_percent",
        "threshold_percent",
        "description",
        "detected_at",
        "notified_at",
        "resolved_at",
    ]
    fields = readonly_fields

    @admin.display(description=_("what was found"))
    def description(self, obj: LimitBreach) -> str:
        return describe_limit(obj.detail or {}, bank_name=obj.bank.name if obj.bank_id else "")

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
