"""Import and export of the exposure register as CSV / XLSX (django-import-export): partner exposures and the banks'
period figures, scoped to the user's banks, all or nothing.

Exposure columns: bank (code), partner (key), period_end (a month end, 2024-06-30), product (joint lending or
facilitation, by key or by label in either language; blank: joint lending), balance, partner_funded_balance,
lowest_partner_share_percent, customers, new_loans, out_of_region_balance, source. Bank-figure columns: bank,
period_end, tier1_net_capital, total_loans, source. Money is in 万元, written as plain numbers (1250.50); a blank
cell is "not known". Rows are matched on their natural key — (bank, partner, month end, product), or (bank, period
end) — an existing record is changed, any other row creates one.

As the initiative import (``partnerships.resources``): an export reads in the user's language (headers, product
labels, and after the bank code and partner key an export-only column of their names); an import takes either
language's headers or the column keys, and ignores the export-only columns; a file with a missing, unknown or
repeated column, or too many rows, is refused whole before any row is read; formula-looking text is exported with a
leading apostrophe, which the import takes off.

Every rule is the exposure services'. ``read_dataset`` turns a file's rows into the services' data (what a cell
cannot be read as is that row's error); ``exposures_import`` / ``bank_figures_import`` then check every row and
write all of them or none. The admin's import (preview, then confirm) and the API's import endpoint both go this way:
one refusal anywhere names its row and field and writes nothing.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.formats import sanitize_separators
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets

from .choices import LendingProduct
from .errors import NON_FIELD, Invalid
from .models import BankPeriodFigures, PartnerExposure
from .resources import (
    ChoiceWidget,
    PageError,
    TenantBankWidget,
    escape_formula,
    unescape_formula,
)
from .services.exposure import bank_figures_import, exposures_import, row_field

IMPORT_MAX_ROWS = 5000  # a bank's exposures: partners × months; a year of 400 partners is one file

_ROW_FIELD = re.compile(r"^rows\[(\d+)\](?:\.(.+))?$")


class MoneyWidget(widgets.DecimalWidget):
    """A sum in 万元 (or a percentage): a number, with or without thousands separators; blank is "not known".

    Exported as a plain number (1250.50) in CSV and as a number cell in XLSX, so it reads back the same."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, bool):
            raise ValueError(_("“%(value)s” is not a number.") % {"value": value})
        if isinstance(value, int | float | Decimal):
            return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        text = str(value).strip().replace(",", "").replace("，", "")
        try:
            number = Decimal(sanitize_separators(text))
        except (InvalidOperation, ValueError):
            raise ValueError(_("“%(value)s” is not a number.") % {"value": value}) from None
        if not number.is_finite():
            raise ValueError(_("“%(value)s” is not a number.") % {"value": value})
        return number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class CountWidget(widgets.IntegerWidget):
    """A whole number; anything else names the cell."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        number = MoneyWidget().clean(value)
        if number != number.to_integral_value():
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": value})
        return int(number)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class DateCellWidget(widgets.DateWidget):
    """A date (2024-06-30, 2024/6/30, or a date cell of a workbook), with a message that says the format."""

    def __init__(self):
        super().__init__()
        self.formats = ("%Y-%m-%d", "%Y/%m/%d")

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime.datetime):  # a workbook's date cell
            return value.date()
        try:
            return super().clean(value.strip() if isinstance(value, str) else value, row, **kwargs)
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not a date; write it as 2024-06-30.") % {"value": value}
            ) from None


class _RegisterResource(resources.ModelResource):
    """What the two register resources share: headers in either language, the export-only name columns, the
    whole-file checks, and the reading of rows into the services' data."""

    HEADERS: dict = {}
    LABELLED: tuple[str, ...] = ()
    REQUIRED: tuple[str, ...] = ()
    MONEY: tuple[str, ...] = ()
    COUNTS: tuple[str, ...] = ()

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["bank"].widget = TenantBankWidget(user)
        self.fields["period_end"].widget = DateCellWidget()
        self.fields["source"].widget = widgets.CharWidget(allow_blank=True)
        for name in self.MONEY:
            self.fields[name].widget = MoneyWidget()
        for name in self.COUNTS:
            self.fields[name].widget = CountWidget()
        self._row_errors: dict[int, dict[str, list[str]]] = {}
        self._outcome: dict[int, tuple[object, bool]] = {}
        self._row_number: int | None = None
        self._dry_run = True

    @classmethod
    def service(cls, *, user, rows, dry_run: bool, errors):
        raise NotImplementedError

    def get_error_result_class(self):
        return PageError

    # --- headers ----------------------------------------------------------------------------------------------
    @classmethod
    def column_header(cls, name: str) -> str:
        """The header of a column in the active language (the export form asks the class)."""
        if name in cls.HEADERS:
            return str(cls.HEADERS[name])
        return str(capfirst(cls._meta.model._meta.get_field(name).verbose_name))

    @classmethod
    def label_header(cls, name: str) -> str:
        return str(capfirst(cls._meta.model._meta.get_field(name).verbose_name))

    # --- export -----------------------------------------------------------------------------------------------
    def dehydrate_bank(self, obj) -> str:
        return obj.bank.code if obj.bank_id else ""

    def label_bank(self, obj) -> str:
        return obj.bank.name if obj.bank_id else ""

    def get_export_headers(self, selected_fields=None):
        headers = []
        for field in self.get_export_fields(selected_fields):
            name = self.get_field_name(field)
            headers.append(self.column_header(name))
            if name in self.LABELLED:
                headers.append(self.label_header(name))
        return headers

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = []
        for field in self.get_export_fields(selected_fields):
            name = self.get_field_name(field)
            row.append(self.export_field(field, instance, **kwargs))
            if name in self.LABELLED:
                row.append(getattr(self, f"label_{name}")(instance))
        return [escape_formula(value) for value in row]

    def get_diff_headers(self):
        """The import preview's headers, in the reader's language."""
        return [self.column_header(field.column_name) for field in self.get_import_fields()]

    # --- reading a file ---------------------------------------------------------------------------------------
    def _headers_to_keys(self, dataset) -> None:
        """Headers of either language become column keys; the export-only label columns are dropped."""
        if not dataset.headers:
            return
        keys: dict[str, str] = {}
        labels: set[str] = set()
        for field in self.get_import_fields():
            name = field.column_name
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    keys.setdefault(self.column_header(name), name)
                    if name in self.LABELLED:
                        labels.add(self.label_header(name))
        keys.update({f.column_name: f.column_name for f in self.get_import_fields()})
        for header in [h for h in dataset.headers if isinstance(h, str) and h.strip() in labels - set(keys)]:
            del dataset[header]
        dataset.headers = [
            keys.get(h.strip(), h.strip()) if isinstance(h, str) else h for h in dataset.headers
        ]

    def file_problems(self, dataset) -> list[str]:
        """Why the whole file is refused before any row is read (missing, unknown or repeated columns, size)."""
        self._headers_to_keys(dataset)
        headers = [h for h in (dataset.headers or []) if h not in (None, "")]
        allowed = [f.column_name for f in self.get_import_fields()]
        problems = []
        missing = [c for c in self.REQUIRED if c not in headers]
        if missing:
            problems.append(_("Required columns missing: %(columns)s.") % {"columns": ", ".join(missing)})
        unknown = [h for h in headers if h not in allowed]
        if unknown:
            problems.append(
                _("Unknown columns %(unknown)s; the columns are: %(allowed)s.")
                % {"unknown": ", ".join(f"“{h}”" for h in unknown), "allowed": ", ".join(allowed)}
            )
        repeated = sorted({h for h in headers if headers.count(h) > 1})
        if repeated:
            problems.append(_("Columns given twice: %(columns)s.") % {"columns": ", ".join(repeated)})
        if len(dataset) > IMPORT_MAX_ROWS:
            problems.append(
                _("The file has %(n)d rows; import at most %(max)d at a time.")
                % {"n": len(dataset), "max": IMPORT_MAX_ROWS}
            )
        return [str(p) for p in problems]

    def read_dataset(self, dataset) -> tuple[dict[int, dict], dict[str, list[str]]]:
        """The file's rows as the services take them — {row number: data}, data rows counted from 1 — and what no
        cell could be read as, by ``rows[N].column``. A whole-file problem raises ``Invalid`` on ``file``."""
        problems = self.file_problems(dataset)
        if problems:
            raise Invalid(fields={"file": problems})
        columns = [h for h in dataset.headers if h in self.fields]
        rows: dict[int, dict] = {}
        errors: dict[str, list[str]] = {}
        for number, values in enumerate(dataset, 1):
            raw = dict(zip(dataset.headers, values, strict=False))
            if all(v in (None, "") for v in raw.values()):
                continue  # a blank line (spreadsheets keep some at the end)
            data: dict = {}
            for column in columns:
                value = unescape_formula(raw.get(column))
                try:
                    cleaned = self.fields[column].widget.clean(value, row=raw)
                except (ValueError, ValidationError, InvalidOperation) as exc:
                    message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                    errors.setdefault(row_field(number, column), []).append(message)
                    continue
                data[column] = cleaned.pk if column == "bank" and cleaned is not None else cleaned
            rows[number] = data
        return rows, errors

    # --- the admin's import: the service checks (preview) or writes (confirm) the whole file at once ----------
    def before_import(self, dataset, **kwargs):
        """Refuse the whole file as it is, or hand every row to the import service before any row is shown."""
        super().before_import(dataset, **kwargs)
        self._row_errors, self._outcome = {}, {}
        if self.user is None:  # never the system's rights by omission: an import is always someone's
            del dataset[0 : len(dataset)]
            raise ValueError(_("An import needs the importing user."))
        try:
            rows, errors = self.read_dataset(dataset)
        except Invalid as exc:
            del dataset[0 : len(dataset)]  # the rows are not read one by one: the file is refused as it is
            raise ValueError(" ".join(exc.fields["file"])) from exc
        try:
            outcome = self.service(
                user=self.user, rows=rows, dry_run=self._dry_run or bool(errors), errors=errors
            )
        except Invalid as exc:
            for name, messages in exc.fields.items():
                match = _ROW_FIELD.match(name)
                number, column = (int(match[1]), match[2]) if match else (0, None)
                key = NON_FIELD_ERRORS if column in (None, NON_FIELD) else column
                self._row_errors.setdefault(number, {}).setdefault(key, []).extend(messages)
            return
        self._outcome = {row.number: (row.obj, row.created) for row in outcome.rows}

    def import_data_inner(self, dataset, dry_run, *args, **kwargs):
        self._dry_run = dry_run  # before_import is not told whether this is the preview or the confirm
        return super().import_data_inner(dataset, dry_run, *args, **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        self._row_number = kwargs.get("row_number")
        return super().import_row(row, instance_loader, **kwargs)

    def get_or_init_instance(self, instance_loader, row):
        found = self._outcome.get(self._row_number)
        if found is not None:
            return found[0], found[1]
        return self._meta.model(), True

    def import_instance(self, instance, row, **kwargs):
        errors = self._row_errors.get(self._row_number)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        pass  # the import service wrote every row in before_import (or none)

    def save_m2m(self, instance, row, **kwargs):
        pass

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        # A file-wide refusal that belongs to no row (row 0) is shown above the rows.
        if 0 in self._row_errors:
            messages = [m for ms in self._row_errors[0].values() for m in ms]
            raise ValueError(" ".join(messages))


class PartnerExposureResource(_RegisterResource):
    HEADERS = {"bank": _("Bank code"), "partner": _("Partner key")}
    LABELLED = ("bank", "partner")
    REQUIRED = ("bank", "partner", "period_end")
    MONEY = (
        "balance",
        "partner_funded_balance",
        "lowest_partner_share_percent",
        "new_loans",
        "out_of_region_balance",
    )
    COUNTS = ("customers",)

    bank = fields.Field(attribute="bank", column_name="bank")
    partner = fields.Field(column_name="partner", widget=widgets.CharWidget())

    class Meta:
        model = PartnerExposure
        import_id_fields = ("bank", "partner", "period_end")
        fields = (
            "bank",
            "partner",
            "period_end",
            "product",
            "balance",
            "partner_funded_balance",
            "lowest_partner_share_percent",
            "customers",
            "new_loans",
            "out_of_region_balance",
            "source",
        )
        export_order = fields
        clean_model_instances = False
        skip_unchanged = False
        use_transactions = True
        skip_html_diff = True

    def __init__(self, user=None, **kwargs):
        super().__init__(user, **kwargs)
        self.fields["product"].widget = ChoiceWidget(LendingProduct)

    @classmethod
    def service(cls, *, user, rows, dry_run: bool, errors):
        return exposures_import(user=user, rows=rows, dry_run=dry_run, errors=errors)

    def dehydrate_partner(self, obj: PartnerExposure) -> str:
        return obj.partner.key if obj.partner_id else ""

    def label_partner(self, obj: PartnerExposure) -> str:
        return obj.partner.name if obj.partner_id else ""

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("bank", "partner")


class BankPeriodFiguresResource(_RegisterResource):
    HEADERS = {"bank": _("Bank code")}
    LABELLED = ("bank",)
    REQUIRED = ("bank", "period_end")
    MONEY = ("tier1_net_capital", "total_loans")

    bank = fields.Field(attribute="bank", column_name="bank")

    class Meta:
        model = BankPeriodFigures
        import_id_fields = ("bank", "period_end")
        fields = ("bank", "period_end", "tier1_net_capital", "total_loans", "source")
        export_order = fields
        clean_model_instances = False
        skip_unchanged = False
        use_transactions = True
        skip_html_diff = True

    @classmethod
    def service(cls, *, user, rows, dry_run: bool, errors):
        return bank_figures_import(user=user, rows=rows, dry_run=dry_run, errors=errors)

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("bank")
