"""Initiative admin: filters, bilingual search, partner autocomplete, inlines, history, import/export.

A door like the API: the form asks ``partnerships.services.initiatives`` whether the input (with its partner rows)
is acceptable, and saving calls that service; KPI and evidence rows are written by their services.
"""

import re
import zipfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ImportForm, SelectableFieldsExportForm
from tablib import InvalidDimensions

from ..choices import PartnerKind, PartnerService, PersonalDataCategory
from ..errors import NON_FIELD, Invalid, ServiceError
from ..forms import InitiativeAdminForm
from ..models import KPI, Evidence, Initiative, InitiativeDataCategory, InitiativePartner, TechPartner
from ..resources import InitiativeResource, column_header
from ..services.evidence import evidence_create, evidence_delete, evidence_update, evidence_validate
from ..services.initiatives import (
    initiative_create,
    initiative_delete,
    initiative_update,
    initiative_validate,
)
from ..services.kpis import kpi_create, kpi_delete, kpi_update, kpi_validate
from .base import (
    ServiceAdminMixin,
    ServiceInlineForm,
    ServiceInlineMixin,
    TenantScopedAdmin,
    TenantScopedMixin,
    adopt,
)
from .filters import TenantBankFilter
from .lifecycle import ReassessmentFilter, next_reassessment, with_reassessment
from .widgets import EvidenceFileInput, OwnerAutocomplete

AGENCY_ONLY = _(
    "Choose a credit-reporting agency: under 断直连 credit-related data reaches the bank only through a licensed "
    "credit-reporting agency."
)
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


class InitiativeExportForm(SelectableFieldsExportForm):
    """The columns to tick, named as the file heads them in the reader's language (not “Security Assessment Done”)."""

    def _get_field_label(self, resource, field_name: str) -> str:
        try:
            return column_header(field_name)
        except FieldDoesNotExist:
            return super()._get_field_label(resource, field_name)


class InitiativePartnerForm(ServiceInlineForm):
    """A partner row; its licensed services are ticked from PartnerService (the service checks them again)."""

    services = forms.MultipleChoiceField(
        label=_("licensed services"),
        choices=PartnerService.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "What the partner does here that needs a licence; the compliance check names what is missing."
        ),
    )


class InitiativePartnerInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    """Partner rows are part of the initiative's own write (``data["partners"]``), checked and saved with it."""

    model = InitiativePartner
    form = InitiativePartnerForm
    autocomplete_fields = ["partner"]
    fields = ["partner", "role", "services", "note"]
    extra = 0
    min_num = 0

    def get_fields(self, request, obj=None):
        # A reader sees the services by their labels, not the stored list of keys.
        fields = super().get_fields(request, obj)
        if self.has_change_permission(request, obj):
            return fields
        return ["services_label" if name == "services" else name for name in fields]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if self.has_change_permission(request, obj) else [*fields, "services_label"]

    @admin.display(description=_("licensed services"))
    def services_label(self, link: InitiativePartner) -> str:
        labels = [
            str(PartnerService(s).label) if s in PartnerService.values else s for s in link.services or []
        ]
        separator = ", " if (translation.get_language() or "").startswith("en") else "、"
        return separator.join(labels) or "-"

    # Written by initiative_create / initiative_update with the initiative (InitiativeAdminForm.service_data).
    def service_create(self, request, parent, form) -> None:
        pass

    def service_update(self, request, obj, form) -> None:
        pass

    def service_delete(self, request, obj) -> None:
        pass


class InitiativeDataCategoryInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    """Personal-data categories (PIPL), each with its lawful basis and separate consent: part of the initiative's
    own write (``data["data_categories"]``, replacing the set), checked and saved with it."""

    model = InitiativeDataCategory
    fields = ["category", "lawful_basis", "separate_consent"]
    extra = 0
    min_num = 0

    # Written by initiative_create / initiative_update with the initiative (InitiativeAdmin.service_data).
    def service_create(self, request, parent, form) -> None:
        pass

    def service_update(self, request, obj, form) -> None:
        pass

    def service_delete(self, request, obj) -> None:
        pass


def _category_entries(formsets) -> list[tuple[forms.Form, dict]] | None:
    """(inline form, row as the service takes it) of each category row posted; None when none was posted."""
    for formset in formsets:
        if formset.model is not InitiativeDataCategory:
            continue
        if not formset.is_valid():
            return None  # the formset shows its own errors
        entries = []
        for form in formset.forms:
            cleaned = getattr(form, "cleaned_data", {}) or {}
            if not cleaned.get("category") or (formset.can_delete and formset._should_delete_form(form)):
                continue
            row = {
                "category": cleaned["category"],
                "lawful_basis": cleaned.get("lawful_basis") or "",
                "separate_consent": bool(cleaned.get("separate_consent")),
            }
            entries.append((form, row))
        return entries
    return None


def data_category_rows(formsets) -> list[dict] | None:
    """The category rows posted with the initiative, as the service takes them; None when none was posted."""
    entries = _category_entries(formsets)
    return None if entries is None else [row for _form, row in entries]


_ROW_ERROR = re.compile(r"^data_categories\[(\d+)\](?:\.(\w+))?$")


def errors_on_category_rows(formsets, exc: ServiceError) -> ServiceError | None:
    """Put the service's messages about category rows (``data_categories[1].lawful_basis``) on those inline rows;
    the rest as a ServiceError for the initiative's form (None when nothing is left for it)."""
    entries = _category_entries(formsets) or []
    rest: dict[str, list[str]] = {}
    for name, texts in exc.fields.items():
        match = _ROW_ERROR.match(name)
        if match and int(match.group(1)) < len(entries):
            form = entries[int(match.group(1))][0]
            field = match.group(2) if match.group(2) in form.fields else None
            form.add_error(field, texts)
        elif name == "data_categories":
            label = capfirst(InitiativeDataCategory._meta.verbose_name_plural)
            rest.setdefault(NON_FIELD, []).extend(f"{label}: {m}" for m in texts)
        else:
            rest.setdefault(name, []).extend(texts)
    if not exc.fields:
        return exc
    return Invalid(fields=rest) if rest else None


class KPIInline(ServiceInlineMixin, TenantScopedMixin, admin.TabularInline):
    model = KPI
    fields = ["name", "cost_driver", "unit", "baseline", "baseline_date", "target", "target_date", "weight"]
    extra = 0
    show_change_link = True  # observations are entered on the KPI's own page

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "weight" and field is not None:
            field.required = False  # left empty: weight 1 (the service's default)
        return field

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
    export_form_class = InitiativeExportForm
    inlines = [InitiativePartnerInline, InitiativeDataCategoryInline, KPIInline, EvidenceInline]
    list_display = [
        "code",
        "title",
        "bank",
        "pillar",
        "status",
        "partner_list",
        next_reassessment,
        "updated_at",
    ]
    list_display_links = ["code", "title"]
    list_filter = [
        "pillar",
        "status",
        ("bank", TenantBankFilter),
        "partners",
        "scenario_types",
        "is_illustrative",
        ReassessmentFilter,
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
    # Version 1's personal-data fields are kept for version 1 scores (read-only here; the API and the import still
    # take them). "personal_data_categories" is listed so that the form drops its field; the page shows it with
    # labels (v1_personal_data_categories).
    readonly_fields = [
        "created_at",
        "updated_at",
        "personal_data_categories",
        "v1_personal_data_categories",
        "lawful_basis",
        "security_assessment_done",
    ]
    fieldsets = [
        (None, {"fields": ["bank", "code", "title", "description", "status", "owner", "is_illustrative"]}),
        (_("Pillar and scenarios"), {"fields": ["pillar", "scenario_types"]}),
        (_("Dates"), {"fields": ["start_date", "end_date", "created_at", "updated_at"]}),
        (
            _("Personal data (PIPL)"),
            {
                "description": _(
                    "Facts that rubric version 2 scores data protection from (PIPL Art. 13, 23, 28–29, 38–39, "
                    "55 and 断直连). A fact left blank is “not recorded”, which never scores as “no”. Record the "
                    "personal-data categories, each with its lawful basis and separate consent, in the "
                    "“personal-data categories” rows below; tick “no personal data shared” only when none is. "
                    "Every category but contact data is sensitive personal information (PIPL Art. 28; GB/T "
                    "35273-2020 Appendix B) and needs separate consent (Art. 29)."
                ),
                "fields": [
                    "no_personal_data",
                    ("provided_to_partner", "provision_separate_consent"),
                    "cross_border_transfer",
                    "cross_border_destination",
                    "transfer_mechanism",
                    "cross_border_separate_consent",
                    ("credit_use", "credit_route_agency"),
                    "impact_assessment_on",
                    "processing_agreement",
                ],
            },
        ),
        (
            _("Version 1 fields"),
            {
                "classes": ["collapse"],
                "description": _(
                    "Kept as they were for scores under rubric version 1; version 2 reads the facts above."
                ),
                "fields": ["v1_personal_data_categories", "lawful_basis", "security_assessment_done"],
            },
        ),
    ]

    def get_queryset(self, request):
        links = InitiativePartner.objects.select_related("partner").order_by("role", "partner__key")
        queryset = super().get_queryset(request).prefetch_related(Prefetch("partner_links", queryset=links))
        return with_reassessment(queryset)  # the next re-assessment date (partnerships.lifecycle)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["widget"] = OwnerAutocomplete(db_field, self.admin_site, bank_id=self._page_bank(request))
        elif db_field.name == "credit_route_agency":
            # Only credit-reporting agencies are offered; the service refuses any other partner in its own words.
            kwargs["queryset"] = TechPartner.objects.filter(kind=PartnerKind.CREDIT_REPORTING)
            kwargs.setdefault("error_messages", {"invalid_choice": AGENCY_ONLY})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("personal-data categories"))
    def v1_personal_data_categories(self, obj: Initiative) -> str:
        labels = [
            str(PersonalDataCategory(c).label) if c in PersonalDataCategory.values else str(c)
            for c in obj.personal_data_categories or []
        ]
        separator = ", " if (translation.get_language() or "").startswith("en") else "、"
        return separator.join(labels) or "-"

    @staticmethod
    def _page_bank(request) -> int | None:
        match = getattr(request, "resolver_match", None)
        object_id = (match.kwargs or {}).get("object_id") if match else None
        if object_id and str(object_id).isdigit():
            return Initiative.objects.filter(pk=int(object_id)).values_list("bank_id", flat=True).first()
        return None

    # --- the door: checks and writes by the initiative services -----------------------------------------
    @staticmethod
    def service_data(request, form, cleaned) -> dict:
        """The form's data for the initiative services, with the category rows posted on the same page."""
        data = form.service_data(cleaned)
        rows = data_category_rows(getattr(request, "_admin_formsets", []))
        if rows is not None:
            data["data_categories"] = rows
        return data

    def service_validate(self, request, form, cleaned) -> None:
        try:
            initiative_validate(
                user=request.user, data=self.service_data(request, form, cleaned), initiative=form.instance
            )
        except ServiceError as exc:
            rest = errors_on_category_rows(getattr(request, "_admin_formsets", []), exc)
            if rest is not None:
                raise rest from exc

    def save_model(self, request, obj, form, change):
        data = self.service_data(request, form, form.cleaned_data)
        if change:
            saved = initiative_update(user=request.user, initiative=obj.pk, data=data)
        else:
            saved = initiative_create(user=request.user, data=data)
        adopt(obj, saved)
        # Saved, but flagged: a prohibited (P2P) or restricted scenario type, with the rule that says so.
        for warning in getattr(saved, "warnings", []):
            self.message_user(request, warning["message"], messages.WARNING)

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
