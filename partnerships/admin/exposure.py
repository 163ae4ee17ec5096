"""The exposure register in the admin: partner exposures per month and the banks' period figures, with CSV / XLSX
import and export.

Both are doors to ``partnerships.services.exposure``: forms ask the services what is valid, saves and deletes call
them, and an import hands the whole file to the all-or-nothing import services (``partnerships.exposure_resources``).
Pages, filters and exports are scoped to the user's banks (``TenantScopedAdmin``); money shows as every page shows
figures (``partnerships.formatting``), in 万元 as the column headers say.
"""

from __future__ import annotations

import datetime
import zipfile

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import SelectableFieldsExportForm
from tablib import InvalidDimensions

from ..exposure_resources import BankPeriodFiguresResource, PartnerExposureResource
from ..formatting import fmt_count, fmt_date, fmt_figure, fmt_percent
from ..models import BankPeriodFigures, PartnerExposure
from ..services.exposure import (
    EXPOSURE_FIELDS,
    FIGURES_FIELDS,
    bank_figures_create,
    bank_figures_delete,
    bank_figures_update,
    bank_figures_validate,
    exposure_create,
    exposure_delete,
    exposure_update,
    exposure_validate,
)
from .base import ServiceAdminMixin, TenantScopedAdmin, adopt
from .filters import TenantBankFilter
from .initiative import InitiativeImportForm


def _verbose(model, name: str):
    return model._meta.get_field(name).verbose_name


def _form_data(form, cleaned: dict, names) -> dict:
    """A form's values for a service: every field of a new record, only the changed ones of an existing one."""
    changed = set(form.changed_data) if form.instance.pk else None
    data = {n: cleaned[n] for n in names if n in cleaned and (changed is None or n in changed)}
    if data.get("bank") is not None:
        data["bank"] = data["bank"].pk
    return data


class PeriodFilter(admin.SimpleListFilter):
    """The month (or period) ends recorded in the user's banks, newest first."""

    title = _("period end")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        periods = (
            model_admin.get_queryset(request)
            .order_by("-period_end")
            .values_list("period_end", flat=True)
            .distinct()
        )
        return [(day.isoformat(), fmt_date(day)) for day in periods[:120]]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:  # a hand-typed value that is no date: nothing matches rather than an error page
            return queryset.none()
        return queryset.filter(period_end=day)


class RegisterExportForm(SelectableFieldsExportForm):
    """The columns to tick, named as the file heads them in the reader's language."""

    def _get_field_label(self, resource, field_name: str) -> str:
        try:
            return resource.column_header(field_name)
        except (FieldDoesNotExist, AttributeError):
            return super()._get_field_label(resource, field_name)


class RegisterImportExportMixin(ImportExportMixin):
    """CSV / XLSX import and export as the initiative admin has them: the importing user's rights, all or nothing
    at the confirm step too, and readable messages for files that cannot be read."""

    formats = [CSV, XLSX]
    import_form_class = InitiativeImportForm  # the same size cap
    export_form_class = RegisterExportForm

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, UnicodeDecodeError):
            form.add_error(
                "import_file",
                _(
                    "This file is not UTF-8 text (it may be GBK / GB18030). In Excel save it as "
                    "“CSV UTF-8 (Comma delimited)”, or import the XLSX workbook instead."
                ),
            )
        elif isinstance(e, zipfile.BadZipFile):
            form.add_error(
                "import_file",
                _(
                    "This file is not an XLSX workbook; choose the format that matches the file (CSV or XLSX)."
                ),
            )
        elif isinstance(e, InvalidDimensions):
            form.add_error(
                "import_file",
                _("A row has more cells than the header row; check for unquoted commas in the text."),
            )
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def _import_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:  # confirmed twice (double click, back button) or the upload has expired
            self.message_user(
                request,
                _(
                    "That upload is no longer available (already imported, or expired); choose the file again."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._import_url())

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                _(
                    "Nothing was imported: the file no longer passes the checks it passed in the preview "
                    "(the data changed meanwhile). Choose the file again to see the errors."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._import_url())
        return super().process_result(result, request)


@admin.register(PartnerExposure)
class PartnerExposureAdmin(ServiceAdminMixin, RegisterImportExportMixin, TenantScopedAdmin):
    """What a bank lends with each partner per month and product. Analysts and managers of the bank record it."""

    resource_classes = [PartnerExposureResource]
    list_display = [
        "period_end",
        "bank",
        "partner",
        "product",
        "balance_value",
        "partner_funded_value",
        "partner_funded_share",
        "out_of_region_value",
        "customers_value",
    ]
    list_display_links = ["period_end", "partner"]
    list_filter = [("bank", TenantBankFilter), "partner", "product", PeriodFilter]
    search_fields = [
        "partner__key",
        "partner__name_zh_hans",
        "partner__name_en",
        "partner__related_party_group",
    ]
    list_select_related = ["bank", "partner"]
    autocomplete_fields = ["partner"]
    date_hierarchy = "period_end"
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["bank", "partner", "period_end", "product"]}),
        (
            _("Balances (10k CNY)"),
            {
                "fields": [
                    "balance",
                    "partner_funded_balance",
                    "lowest_partner_share_percent",
                    "out_of_region_balance",
                    "new_loans",
                    "customers",
                ]
            },
        ),
        (None, {"fields": ["source", "updated_at"]}),
    ]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # An exposure stays with its bank; a figure for another bank is recorded there.
        return [*self.readonly_fields, "bank"] if obj is not None else self.readonly_fields

    @admin.display(description=_verbose(PartnerExposure, "balance"), ordering="balance")
    def balance_value(self, obj: PartnerExposure) -> str:
        return fmt_figure(obj.balance)

    @admin.display(
        description=_verbose(PartnerExposure, "partner_funded_balance"), ordering="partner_funded_balance"
    )
    def partner_funded_value(self, obj: PartnerExposure) -> str:
        return fmt_figure(obj.partner_funded_balance) or "—"

    @admin.display(description=_("partner-funded share"))
    def partner_funded_share(self, obj: PartnerExposure) -> str:
        if obj.partner_funded_balance is None or not obj.balance:
            return "—"
        return fmt_percent(obj.partner_funded_balance * 100 / obj.balance)

    @admin.display(
        description=_verbose(PartnerExposure, "out_of_region_balance"), ordering="out_of_region_balance"
    )
    def out_of_region_value(self, obj: PartnerExposure) -> str:
        return fmt_figure(obj.out_of_region_balance) or "—"

    @admin.display(description=_verbose(PartnerExposure, "customers"), ordering="customers")
    def customers_value(self, obj: PartnerExposure) -> str:
        return fmt_count(obj.customers) or "—"

    # --- the door: checks and writes by the exposure services --------------------------------------------
    def _data(self, form, cleaned) -> dict:
        return _form_data(form, cleaned, EXPOSURE_FIELDS)

    def service_validate(self, request, form, cleaned) -> None:
        exposure = form.instance if form.instance.pk else None
        exposure_validate(user=request.user, data=self._data(form, cleaned), exposure=exposure)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = exposure_update(user=request.user, exposure=obj.pk, data=data)
        else:
            saved = exposure_create(user=request.user, data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        exposure_delete(user=request.user, exposure=obj)


@admin.register(BankPeriodFigures)
class BankPeriodFiguresAdmin(ServiceAdminMixin, RegisterImportExportMixin, TenantScopedAdmin):
    """A bank's tier-1 net capital and total loans at a month or quarter end: what the limits are measured
    against. A period without a figure leaves the limits that need it "unknown"."""

    resource_classes = [BankPeriodFiguresResource]
    list_display = ["period_end", "bank", "tier1_net_capital_value", "total_loans_value", "source"]
    list_display_links = ["period_end"]
    list_filter = [("bank", TenantBankFilter), PeriodFilter]
    list_select_related = ["bank"]
    date_hierarchy = "period_end"
    fields = ["bank", "period_end", "tier1_net_capital", "total_loans", "source", "updated_at"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "bank"] if obj is not None else self.readonly_fields

    @admin.display(description=_verbose(BankPeriodFigures, "tier1_net_capital"), ordering="tier1_net_capital")
    def tier1_net_capital_value(self, obj: BankPeriodFigures) -> str:
        return fmt_figure(obj.tier1_net_capital) or "—"

    @admin.display(description=_verbose(BankPeriodFigures, "total_loans"), ordering="total_loans")
    def total_loans_value(self, obj: BankPeriodFigures) -> str:
        return fmt_figure(obj.total_loans) or "—"

    def _data(self, form, cleaned) -> dict:
        return _form_data(form, cleaned, FIGURES_FIELDS)

    def service_validate(self, request, form, cleaned) -> None:
        figures = form.instance if form.instance.pk else None
        bank_figures_validate(user=request.user, data=self._data(form, cleaned), figures=figures)

    def save_model(self, request, obj, form, change):
        data = self._data(form, form.cleaned_data)
        if change:
            saved = bank_figures_update(user=request.user, figures=obj.pk, data=data)
        else:
            saved = bank_figures_create(user=request.user, data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        bank_figures_delete(user=request.user, figures=obj)
