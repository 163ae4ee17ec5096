"""The exposure register in the API: ``exposures/`` and ``bank-figures/`` (CRUD, filters, and CSV / XLSX import).

Rows are scoped to the user's banks by ``ApiViewMixin``; reads need the viewer role, writes the analyst role in the
row's bank, and every write goes to ``partnerships.services.exposure``, which checks every rule. An import takes the
same files as the admin's (``partnerships.exposure_resources``) and is all or nothing: a refused file answers 400
with messages by ``rows[N].column`` (data rows counted from 1, the header not counted) or by ``file``.
"""

from __future__ import annotations

import zipfile

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from import_export.formats.base_formats import CSV, XLSX
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from tablib import InvalidDimensions

from ..choices import LendingProduct
from ..errors import Invalid
from ..exposure_resources import BankPeriodFiguresResource, PartnerExposureResource
from ..models import BankPeriodFigures, PartnerExposure
from ..services.exposure import (
    bank_figures_create,
    bank_figures_delete,
    bank_figures_import,
    bank_figures_update,
    exposure_create,
    exposure_delete,
    exposure_update,
    exposures_import,
)
from .filters import MAX_ID, ApiFilterBackend, IdFilter, StrictOrderingFilter
from .parsers import MultiPartParser
from .serializers import InputNamesMixin, PartnerKeyField
from .views import ApiViewMixin

IMPORT_MAX_BYTES = 5 * 1024 * 1024  # as the admin's import


# --- serializers: shapes only; the services hold the rules ------------------------------------------------------
class PartnerExposureSerializer(InputNamesMixin, serializers.ModelSerializer):
    """One bank's loans with one partner in one month and product; money in 10k CNY."""

    bank = serializers.IntegerField(
        source="bank_id", min_value=1, max_value=MAX_ID, help_text=_("Id of one of your banks.")
    )
    partner = PartnerKeyField(help_text=_("The partner's key, e.g. tencent."))
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    related_party_group = serializers.CharField(
        source="partner.related_party_group",
        read_only=True,
        help_text=_("The partner's related-party group (blank: none recorded)."),
    )
    product = serializers.ChoiceField(
        choices=LendingProduct.choices, required=False, help_text=_("Default: joint_lending.")
    )

    class Meta:
        model = PartnerExposure
        fields = [
            "id",
            "bank",
            "partner",
            "partner_name",
            "related_party_group",
            "period_end",
            "product",
            "balance",
            "partner_funded_balance",
            "lowest_partner_share_percent",
            "customers",
            "new_loans",
            "out_of_region_balance",
            "source",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {
            "period_end": {"help_text": _("The last day of the month, not in the future.")},
            "balance": {"help_text": _("Outstanding balance at month end (10k CNY), both shares.")},
            "partner_funded_balance": {
                "help_text": _("The part the partner funds (10k CNY); blank or 0 for loan facilitation.")
            },
            "out_of_region_balance": {
                "help_text": _("The part lent outside the bank's home region (10k CNY); null: not known.")
            },
        }


class BankPeriodFiguresSerializer(InputNamesMixin, serializers.ModelSerializer):
    """A bank's tier-1 net capital and total loans (10k CNY) at a month or quarter end."""

    bank = serializers.IntegerField(
        source="bank_id", min_value=1, max_value=MAX_ID, help_text=_("Id of one of your banks.")
    )

    class Meta:
        model = BankPeriodFigures
        fields = ["id", "bank", "period_end", "tier1_net_capital", "total_loans", "source", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {
            "period_end": {"help_text": _("A month end (quarter ends are month ends), not in the future.")},
            "tier1_net_capital": {"help_text": _("Null: not known (limits that need it are unknown).")},
        }


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("A CSV (UTF-8) or XLSX file, as the admin's export writes it."))
    format = serializers.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "XLSX")],
        required=False,
        help_text=_("Default: from the file name's extension."),
    )


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=_("Records created."))
    updated = serializers.IntegerField(help_text=_("Records changed (matched on their natural key)."))
    ids = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("Ids of the rows, in file order.")
    )


# --- filters ----------------------------------------------------------------------------------------------------
class PeriodRangeMixin(filters.FilterSet):
    period_from = filters.DateFilter(
        field_name="period_end", lookup_expr="gte", label=_("Period end on or after (YYYY-MM-DD)")
    )
    period_to = filters.DateFilter(
        field_name="period_end", lookup_expr="lte", label=_("Period end on or before (YYYY-MM-DD)")
    )


class PartnerExposureFilter(PeriodRangeMixin):
    bank = IdFilter(field_name="bank_id", label=_("Bank id"))
    partner = filters.CharFilter(field_name="partner__key", max_length=64, label=_("Tech partner key"))
    related_party_group = filters.CharFilter(
        field_name="partner__related_party_group", max_length=100, label=_("Related-party group")
    )
    product = filters.ChoiceFilter(choices=LendingProduct.choices)

    class Meta:
        model = PartnerExposure
        fields = ["bank", "partner", "related_party_group", "product", "period_from", "period_to"]


class BankPeriodFiguresFilter(PeriodRangeMixin):
    bank = IdFilter(field_name="bank_id", label=_("Bank id"))

    class Meta:
        model = BankPeriodFigures
        fields = ["bank", "period_from", "period_to"]


# --- viewsets ---------------------------------------------------------------------------------------------------
def read_upload(request, resource):
    """The uploaded file as the resource's rows and cell errors; an unreadable file is ``Invalid`` on ``file``."""
    upload = ImportUploadSerializer(data=request.data)
    upload.is_valid(raise_exception=True)
    file = upload.validated_data["file"]
    name = (file.name or "").lower()
    fmt = upload.validated_data.get("format") or ("xlsx" if name.endswith(".xlsx") else "csv")

    def refuse(message):
        return Invalid(fields={"file": [str(message)]})

    if file.size > IMPORT_MAX_BYTES:
        raise refuse(_("The file is larger than 5 MB; split it into several files."))
    content = file.read()
    try:
        if fmt == "xlsx":
            dataset = XLSX().create_dataset(content)
        else:
            dataset = CSV().create_dataset(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise refuse(
            _(
                "This file is not UTF-8 text (it may be GBK / GB18030); save it as CSV UTF-8, or send the XLSX."
            )
        ) from None
    except zipfile.BadZipFile:
        raise refuse(_("This file is not an XLSX workbook; send format csv, or the workbook.")) from None
    except InvalidDimensions:
        raise refuse(
            _("A row has more cells than the header row; check for unquoted commas in the text.")
        ) from None
    except (
        Exception
    ):  # any other reason the file cannot be read as a table (a broken workbook, bad CSV quoting)
        raise refuse(_("The file could not be read as a table.")) from None
    rows, errors = resource.read_dataset(dataset)
    if not rows and not errors:
        raise refuse(_("The file has no rows to import."))
    return rows, errors


IMPORT_DESCRIPTION = _(
    "multipart/form-data with the file (and optionally its format). Columns as the admin's export writes them, "
    "headed in Chinese or English or by the column keys. All or nothing: a refused file writes nothing and "
    "answers 400 with messages by rows[N].column (N counts the data rows from 1) or by file. A row whose natural "
    "key is already recorded changes that record."
)


class RegisterViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """CRUD through the services, plus the import; subclasses name the model's services and resource."""

    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    ordering_fields = ["period_end", "id"]
    ordering = ["-period_end"]
    action_cursor_ordering = {"import_file": ("-id",)}

    def _reloaded(self, obj):
        return self.base_queryset().get(pk=obj.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.service_create(user=request.user, data=serializer.validated_data)
        headers = {"Location": self.reverse_action("detail", args=[obj.pk])}
        return Response(
            self.get_serializer(self._reloaded(obj)).data, status=status.HTTP_201_CREATED, headers=headers
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = self.service_update(request.user, instance, serializer.validated_data)
        return Response(self.get_serializer(self._reloaded(obj)).data)

    def perform_destroy(self, instance):
        self.service_delete(self.request.user, instance)

    def _import(self, request):
        rows, errors = read_upload(request, self.resource_class(user=request.user))
        outcome = self.service_import(user=request.user, rows=rows, errors=errors)
        body = {
            "created": outcome.created,
            "updated": outcome.updated,
            "ids": [row.obj.pk for row in sorted(outcome.rows, key=lambda r: r.number)],
        }
        return Response(body)


IMPORT_EXAMPLE = OpenApiExample(
    "Imported", value={"created": 11, "updated": 1, "ids": [41, 42, 43]}, response_only=True
)


@extend_schema_view(
    list=extend_schema(
        summary=_("Partner exposures of your banks"),
        description=_(
            "Loans made with each partner per month and product (joint lending, facilitation), in 10k CNY. "
            "Filter by bank, partner, related-party group, product and period (period_from, period_to)."
        ),
    ),
    retrieve=extend_schema(summary=_("A partner exposure")),
    create=extend_schema(summary=_("Record a partner exposure")),
    update=extend_schema(summary=_("Replace a partner exposure")),
    partial_update=extend_schema(summary=_("Change a partner exposure")),
    destroy=extend_schema(summary=_("Delete a partner exposure")),
)
class PartnerExposureViewSet(RegisterViewSet):
    serializer_class = PartnerExposureSerializer
    filterset_class = PartnerExposureFilter
    ordering_fields = ["period_end", "balance", "id"]
    resource_class = PartnerExposureResource

    def base_queryset(self):
        return PartnerExposure.objects.select_related("bank", "partner")

    @staticmethod
    def service_create(*, user, data):
        return exposure_create(user=user, data=data)

    @staticmethod
    def service_update(user, instance, data):
        return exposure_update(user=user, exposure=instance, data=data)

    @staticmethod
    def service_delete(user, instance):
        exposure_delete(user=user, exposure=instance)

    @staticmethod
    def service_import(*, user, rows, errors):
        return exposures_import(user=user, rows=rows, errors=errors)

    @extend_schema(
        summary=_("Import partner exposures (CSV / XLSX)"),
        description=IMPORT_DESCRIPTION,
        request={"multipart/form-data": ImportUploadSerializer},
        responses={200: ImportResultSerializer},
        examples=[IMPORT_EXAMPLE],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_file(self, request):
        return self._import(request)


@extend_schema_view(
    list=extend_schema(
        summary=_("Your banks' period figures"),
        description=_(
            "Tier-1 net capital and total loans (10k CNY) at month or quarter ends: what the exposure limits are "
            "measured against. Filter by bank and period (period_from, period_to)."
        ),
    ),
    retrieve=extend_schema(summary=_("A bank's figures for a period")),
    create=extend_schema(summary=_("Record a bank's figures for a period")),
    update=extend_schema(summary=_("Replace a bank's figures for a period")),
    partial_update=extend_schema(summary=_("Change a bank's figures for a period")),
    destroy=extend_schema(summary=_("Delete a bank's figures for a period")),
)
class BankPeriodFiguresViewSet(RegisterViewSet):
    serializer_class = BankPeriodFiguresSerializer
    filterset_class = BankPeriodFiguresFilter
    resource_class = BankPeriodFiguresResource

    def base_queryset(self):
        return BankPeriodFigures.objects.select_related("bank")

    @staticmethod
    def service_create(*, user, data):
        return bank_figures_create(user=user, data=data)

    @staticmethod
    def service_update(user, instance, data):
        return bank_figures_update(user=user, figures=instance, data=data)

    @staticmethod
    def service_delete(user, instance):
        bank_figures_delete(user=user, figures=instance)

    @staticmethod
    def service_import(*, user, rows, errors):
        return bank_figures_import(user=user, rows=rows, errors=errors)

    @extend_schema(
        summary=_("Import bank figures (CSV / XLSX)"),
        description=IMPORT_DESCRIPTION,
        request={"multipart/form-data": ImportUploadSerializer},
        responses={200: ImportResultSerializer},
        examples=[IMPORT_EXAMPLE],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_file(self, request):
        return self._import(request)
