"""Initiative admin: filters, bilingual search, partner autocomplete, inlines, history, import/export.

A door like the API: the form asks ``partnerships.services.initiatives`` whether the input (with its partner rows)
is acceptable, and saving calls that service; KPI and evidence rows are written by their services.
"""

import zipfile

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ImportForm
from tablib import InvalidDimensions

from ..forms import InitiativeAdminForm
from ..models import KPI, Evidence, Initiative, InitiativePartner
from ..resources import InitiativeResource
from ..services.evidence import evidence_create, evidence_delete, evidence_update, evidence_validate
from ..services.initiatives import (
    initiative_create,
    initiative_delete,
    initiative_update,
    initiative_validate,
)
from ..services.kpis import kpi_create, kpi_delete, kpi_update, kpi_validate
from .base import ServiceAdminMixin, ServiceInlineMixin, TenantScopedAdmin, TenantScopedMixin, adopt
from .filters import TenantBankFilter
from .widgets import EvidenceFileInput, OwnerAutocomplete

IMPORT_MAX_BYTES = 5 * 1024 * 1024  # uploaded files are not counted by DATA_UPLOAD_MAX_MEMORY_SIZE


class InitiativeImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; import files of at most %(max)s (split it into several files).")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(IMPORT_MAX_BYTES)}
            )
        return upload


class InitiativePartnerInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    """Partner rows are part of the initiative's own write (``data["partners"]``), checked and saved with it."""

    model = InitiativePartner
    autocomplete_fields = ["partner"]
    fields = ["partner", "role", "note"]
    extra = 0
    min_num = 0

    # Written by initiative_create / initiative_update with the initiative (InitiativeAdminForm.service_data).
    def service_create(self, request, parent, form) -> None:
        pass

    def service_update(self, request, obj, form) -> None:
        pass

    def service_delete(self, request, obj) -> None:
        pass


class KPIInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    model = KPI
    fields = ["name", "cost_driver", "unit", "baseline", "target", "target_date"]
    extra = 0
    show_change_link = True  # observations are entered on the KPI's own page

    @staticmethod
    def _data(form) -> dict:
        return {name: form.cleaned_data.get(name) for name in KPIInline.fields if name in form.cleaned_data}

    def service_validate_row(self, request, parent, form) -> None:
        kpi = form.instance if form.instance.pk else None
        if parent.pk is None:
            kpi_validate(user=request.user, data=self._data(form), new_initiative=True)
        else:
            kpi_validate(user=request.user, data={**self._data(form), "initiative": parent.pk}, kpi=kpi)

    def service_create(self, request, parent, form) -> None:
        kpi_create(user=request.user, initiative=parent, data=self._data(form))

    def service_update(self, request, obj, form) -> None:
        kpi_update(user=request.user, kpi=obj, data=self._data(form))

    def service_delete(self, request, obj) -> None:
        kpi_delete(user=request.user, kpi=obj)


class EvidenceInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    model = Evidence
    fields = ["kind", "file", "url", "note", "uploaded_by", "created_at"]
    readonly_fields = ["uploaded_by", "created_at"]
    formfield_overrides = {
        **TenantScopedMixin.formfield_overrides,
        models.FileField: {"widget": EvidenceFileInput},
    }
    extra = 0

    @staticmethod
    def _data(form) -> dict:
        data = {
            name: form.cleaned_data.get(name) for name in ("kind", "url", "note") if name in form.cleaned_data
        }
        if "file" in form.changed_data and form.cleaned_data.get("file"):
            data["file"] = form.cleaned_data["file"]
        return data

    def service_validate_row(self, request, parent, form) -> None:
        evidence = form.instance if form.instance.pk else None
        evidence_validate(
            user=request.user, data={**self._data(form), "initiative": parent.pk}, evidence=evidence
        )

    def service_create(self, request, parent, form) -> None:
        evidence_create(user=request.user, initiative=parent, data=self._data(form))

    def service_update(self, request, obj, form) -> None:
        evidence_update(user=request.user, evidence=obj, data=self._data(form))

    def service_delete(self, request, obj) -> None:
        evidence_delete(user=request.user, evidence=obj)


@admin.register(Initiative)
class InitiativeAdmin(ServiceAdminMixin, ImportExportMixin, TenantScopedAdmin):
    form = InitiativeAdminForm
    resource_classes = [InitiativeResource]
    formats = [CSV, XLSX]
    import_form_class = InitiativeImportForm
    inlines = [InitiativePartnerInline, KPIInline, EvidenceInline]
    list_display = ["code", "title", "bank", "pillar", "status", "partner_list", "updated_at"]
    list_display_links = ["code", "title"]
    list_filter = [
        "pillar",
        "status",
        ("bank", TenantBankFilter),
        "partners",
        "scenario_types",
        "is_illustrative",
    ]
    search_fields = [
        "code",
        "title",
        "description",
        "bank__name_zh_hans",
        "bank__name_en",
        "bank__code",
        "partners__name_zh_hans",
        "partners__name_en",
        "partners__key",
    ]
    list_select_related = ["bank", "pillar"]
    list_per_page = 50
    date_hierarchy = "updated_at"
    filter_horizontal = ["scenario_types"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["bank", "code", "title", "description", "status", "owner", "is_illustrative"]}),
        (_("Pillar and scenarios"), {"fields": ["pillar", "scenario_types"]}),
        (_("Dates"), {"fields": ["start_date", "end_date", "created_at", "updated_at"]}),
        (
            _("Personal data and compliance"),
            {
                "description": _(
                    "Fill in when the initiative passes personal information between the bank and a partner "
                    "(PIPL Art. 13, 23, 38, 55). These facts feed the data-protection criterion."
                ),
                "fields": [
                    "personal_data_categories",
                    "lawful_basis",
                    "security_assessment_done",
                    "cross_border_transfer",
                    "transfer_mechanism",
                ],
            },
        ),
    ]

    def get_queryset(self, request):
        links = InitiativePartner.objects.select_related("partner").order_by("role", "partner__key")
        return super().get_queryset(request).prefetch_related(Prefetch("partner_links", queryset=links))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["widget"] = OwnerAutocomplete(db_field, self.admin_site, bank_id=self._page_bank(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @staticmethod
    def _page_bank(request) -> int | None:
        match = getattr(request, "resolver_match", None)
        object_id = (match.kwargs or {}).get("object_id") if match else None
        if object_id and str(object_id).isdigit():
            return Initiative.objects.filter(pk=int(object_id)).values_list("bank_id", flat=True).first()
        return None

    # --- the door: checks and writes by the initiative services -----------------------------------------
    def service_validate(self, request, form, cleaned) -> None:
        initiative_validate(user=request.user, data=form.service_data(cleaned), initiative=form.instance)

    def save_model(self, request, obj, form, change):
        data = form.service_data(form.cleaned_data)
        if change:
            saved = initiative_update(user=request.user, initiative=obj.pk, data=data)
        else:
            saved = initiative_create(user=request.user, data=data)
        adopt(obj, saved)

    def service_delete(self, request, obj) -> None:
        initiative_delete(user=request.user, initiative=obj)

    @admin.display(description=_("partners"))
    def partner_list(self, obj: Initiative):
        return format_html_join(
            ", ",
            "{} <small>({})</small>",
            ((link.partner.name, link.get_role_display()) for link in obj.partner_links.all()),
        )

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

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

    def get_import_data_kwargs(self, **kwargs):
        # All or nothing at the confirm step too: a row that has become invalid since the dry run (a partner
        # deleted meanwhile) rolls the whole import back instead of writing the other rows.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

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
            return HttpResponseRedirect(reverse("admin:partnerships_initiative_import"))

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
            return HttpResponseRedirect(reverse("admin:partnerships_initiative_import"))
        return super().process_result(result, request)
