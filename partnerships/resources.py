"""Import and export of initiatives as CSV / XLSX (django-import-export), scoped to the user's banks.

Columns: bank (code), code, title, description, pillar (key), scenario_types (keys, "|"-separated),
partners ("partner_key:role|…"; role defaults to technology), status, start_date, end_date, and the
data-sharing facts: version 1's (personal_data_categories, lawful_basis, security_assessment_done) and the personal
data facts of version 2 (no_personal_data, provided_to_partner, provision_separate_consent, cross_border_transfer,
cross_border_destination, transfer_mechanism, cross_border_separate_consent, credit_use, credit_route_agency — the
agency's partner key —, impact_assessment_on, processing_agreement). The per-category rows (category, lawful basis,
separate consent) are not in the file: one cell cannot hold them readably; they are entered in the admin or the
API. Rows are matched on (bank, code): an existing initiative is updated, a new one created.

An export reads in the user's language: each column is headed by its name in that language (HEADERS), choices
(status, categories, lawful basis, mechanism) are written as their labels, yes/no as 是/否 (Yes/No), an empty
value as an empty cell. Keys a file needs to be imported again (bank code, pillar, scenario-type and partner keys)
stay as they are, each followed by an export-only column of what they mean in that language (LABELLED).
An import takes either language's headers or the column keys above, choice labels of either language or keys,
and yes/no as 是/否, Yes/No, true/false or 1/0; the export-only columns are ignored. So a file exported in
Chinese or English imports back unchanged.

A file is refused whole (nothing is read row by row) when it lacks bank or code, has a column not listed
above or a column twice, or more than IMPORT_MAX_ROWS rows. On export a text cell that a spreadsheet would run
as a formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe; on import that
apostrophe is taken off again, so an exported file imports back unchanged.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, results, widgets

from .choices import InitiativeStatus, LawfulBasis, PartnerRole, PersonalDataCategory, TransferMechanism
from .errors import ServiceError
from .formatting import NO, YES, fmt_bool, fmt_choice
from .models import Bank, Initiative, Pillar
from .services.initiatives import SIMPLE_FIELDS, initiative_create, initiative_update, initiative_validate

IMPORT_MAX_ROWS = 2000  # a bank's portfolio is hundreds of initiatives; a dry run costs ~40 queries a row

# A cell starting with one of these is run as a formula by Excel / LibreOffice when the file is opened.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unescape_formula(value):
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


class PageError(results.Error):
    """An import error as the importer sees it: the message only; the traceback stays in the DEBUG log."""

    @property
    def traceback(self):
        return ""


def _in_both_languages(text) -> set[str]:
    """A lazy label as it reads in Chinese and in English (what an exported file may hold)."""
    found = set()
    for language in ("zh-hans", "en"):
        with translation.override(language):
            found.add(str(text))
    return found


class StrictBooleanWidget(widgets.BooleanWidget):
    """A yes/no cell: 是/否, Yes/No, true/false, 1/0 or empty; anything else ("maybe") is an error, never a silent
    False. Exported as 是/否 (Yes/No) in the reader's language — in an XLSX too, never TRUE/FALSE.

    ``empty_is_false``: for a field that cannot be "not recorded" (a tick box), an empty cell is its default, No."""

    def __init__(self, *args, empty_is_false: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_is_false = empty_is_false

    def clean(self, value, row=None, **kwargs):
        if self.empty_is_false and (value is None or (isinstance(value, str) and not value.strip())):
            return False
        if isinstance(value, str):
            value = value.strip()
            if value.lower() in {v.lower() for v in _in_both_languages(YES)}:
                return True
            if value.lower() in {v.lower() for v in _in_both_languages(NO)}:
                return False
        if value in self.NULL_VALUES or value in self.TRUE_VALUES or value in self.FALSE_VALUES:
            return super().clean(value, row, **kwargs)
        raise ValueError(_("“%(value)s” is not a yes/no value; use Yes or No (or 1 / 0).") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return fmt_bool(value)


class ChoiceWidget(widgets.Widget):
    """A choice by its label in either language or by its key; exported as its label in the reader's language.

    An unknown value is passed on as it is, so the service names it in the row's error."""

    def __init__(self, choices: type[models.Choices]):
        super().__init__()
        self.choices = choices

    def lookup(self) -> dict[str, str]:
        found = {}
        for key, label in self.choices.choices:
            found.update({text.lower(): key for text in _in_both_languages(label)})
        found.update({key.lower(): key for key in self.choices.values})
        return found

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return ""
        text = str(value).strip()
        return self.lookup().get(text.lower(), text)

    def render(self, value, obj=None, **kwargs):
        return fmt_choice(self.choices, value)


class TenantBankWidget(widgets.ForeignKeyWidget):
    """A bank code resolves only among the importing user's banks; whether they may write there is the service's."""

    def __init__(self, user=None):
        super().__init__(Bank, field="code")
        self.user = user

    def get_queryset(self, value, row, *args, **kwargs):
        qs = Bank.objects.all()
        return qs.for_user(self.user) if self.user is not None else qs.none()

    def clean(self, value, row=None, **kwargs):
        if not value:
            raise ValueError(_("A bank code is required."))
        try:
            return super().clean(value, row, **kwargs)
        except Bank.DoesNotExist as exc:
            raise ValueError(_("Choose one of your banks.")) from exc


class KeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by its key, with a message that names the allowed keys."""

    def clean(self, value, row=None, **kwargs):
        if not value:
            raise ValueError(_("This column is required."))
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist as exc:
            allowed = ", ".join(self.model.objects.values_list(self.field, flat=True))
            raise ValueError(
                _("Unknown key “%(value)s”; use one of: %(allowed)s.") % {"value": value, "allowed": allowed}
            ) from exc


class ListWidget(widgets.Widget):
    """A list of keys in one cell, "|"-separated."""

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return []
        return [part.strip() for part in str(value).split("|") if part.strip()]

    def render(self, value, obj=None, **kwargs):
        return "|".join(value or [])


class ChoiceListWidget(ListWidget):
    """A list of choices in one cell, "|"-separated: labels on export, labels or keys on import."""

    def __init__(self, choices: type[models.Choices]):
        super().__init__()
        self.choice = ChoiceWidget(choices)

    def clean(self, value, row=None, **kwargs):
        lookup = self.choice.lookup()
        return [lookup.get(item.lower(), item) for item in super().clean(value, row, **kwargs)]

    def render(self, value, obj=None, **kwargs):
        return "|".join(self.choice.render(item) for item in value or [])


# Each column's header in an export, in the reader's language; an import also takes the column key.
HEADERS = {
    "bank": _("Bank code"),
    "pillar": _("Pillar key"),
    "scenario_types": _("Scenario type keys"),
    "partners": _("Partner keys and roles"),
    "credit_route_agency": _("Credit-reporting agency key"),
}
# Key columns followed, in an export, by a column of what their keys mean in the reader's language (headed by the
# field's name: 银行, 合作支柱, 场景类型, 合作方, 断直连路径上的持牌征信机构). The import ignores those columns.
LABELLED = ("bank", "pillar", "scenario_types", "partners", "credit_route_agency")
# Version 2's personal-data facts that are yes/no: "not recorded" (empty) where the field allows it, else No.
FACT_FLAGS = ("provided_to_partner", "credit_use")
FACT_TICKS = (
    "no_personal_data",
    "provision_separate_consent",
    "cross_border_separate_consent",
    "processing_agreement",
)


def column_header(name: str) -> str:
    """The header of a column in the active language."""
    if name in HEADERS:
        return str(HEADERS[name])
    return str(capfirst(Initiative._meta.get_field(name).verbose_name))


def label_header(name: str) -> str:
    """The header of the export-only column after the key column ``name``."""
    return str(capfirst(Initiative._meta.get_field(name).verbose_name))


class InitiativeResource(resources.ModelResource):
    bank = fields.Field(attribute="bank", column_name="bank")
    pillar = fields.Field(attribute="pillar", column_name="pillar", widget=KeyWidget(Pillar, field="key"))
    scenario_types = fields.Field(column_name="scenario_types", widget=ListWidget())
    partners = fields.Field(column_name="partners", widget=ListWidget())
    personal_data_categories = fields.Field(
        attribute="personal_data_categories", column_name="personal_data_categories", widget=ListWidget()
    )
    # The agency's partner key; the service finds the partner and checks its kind.
    credit_route_agency = fields.Field(column_name="credit_route_agency", widget=widgets.CharWidget())

    class Meta:
        model = Initiative
        import_id_fields = ("bank", "code")
        fields = (
            "bank",
            "code",
            "title",
            "description",
            "pillar",
            "scenario_types",
            "partners",
            "status",
            "start_date",
            "end_date",
            "personal_data_categories",
            "lawful_basis",
            "security_assessment_done",
            "no_personal_data",
            "provided_to_partner",
            "provision_separate_consent",
            "cross_border_transfer",
            "cross_border_destination",
            "transfer_mechanism",
            "cross_border_separate_consent",
            "credit_use",
            "credit_route_agency",
            "impact_assessment_on",
            "processing_agreement",
        )
        export_order = fields
        clean_model_instances = False  # the initiative service runs the model's checks with every rule
        skip_unchanged = False
        use_transactions = True
        skip_html_diff = True

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["bank"].widget = TenantBankWidget(user)
        for name in ("security_assessment_done", "cross_border_transfer", *FACT_FLAGS):
            self.fields[name].widget = StrictBooleanWidget()
        for name in FACT_TICKS:
            self.fields[name].widget = StrictBooleanWidget(empty_is_false=True)
        self.fields["cross_border_destination"].widget = widgets.CharWidget(allow_blank=True)
        self.fields["status"].widget = ChoiceWidget(InitiativeStatus)
        self.fields["lawful_basis"].widget = ChoiceWidget(LawfulBasis)
        self.fields["transfer_mechanism"].widget = ChoiceWidget(TransferMechanism)
        self.fields["personal_data_categories"].widget = ChoiceListWidget(PersonalDataCategory)
        # A TextField gets the plain Widget, which keeps an empty XLSX cell as None: NOT NULL would fail.
        self.fields["description"].widget = widgets.CharWidget(allow_blank=True)

    def get_error_result_class(self):
        return PageError

    # --- export ---------------------------------------------------------------------------------------
    def dehydrate_bank(self, obj: Initiative) -> str:
        return obj.bank.code

    def dehydrate_scenario_types(self, obj: Initiative) -> str:
        return "|".join(sorted(t.key for t in obj.scenario_types.all()))

    def dehydrate_partners(self, obj: Initiative) -> str:
        return "|".join(f"{link.partner.key}:{link.role}" for link in obj.partner_links.all())

    def dehydrate_credit_route_agency(self, obj: Initiative) -> str:
        return obj.credit_route_agency.key if obj.credit_route_agency_id else ""

    # Each key column is followed by what its keys mean (export only; the import ignores these columns).
    def label_bank(self, obj: Initiative) -> str:
        return obj.bank.name

    def label_pillar(self, obj: Initiative) -> str:
        return obj.pillar.name

    def label_scenario_types(self, obj: Initiative) -> str:
        return self._list_sep().join(t.name for t in sorted(obj.scenario_types.all(), key=lambda t: t.key))

    def label_partners(self, obj: Initiative) -> str:
        return self._list_sep().join(
            f"{link.partner.name}{self._aside(link.get_role_display())}" for link in obj.partner_links.all()
        )

    def label_credit_route_agency(self, obj: Initiative) -> str:
        return obj.credit_route_agency.name if obj.credit_route_agency_id else ""

    @staticmethod
    def _list_sep() -> str:
        return ", " if (translation.get_language() or "").startswith("en") else "、"

    @staticmethod
    def _aside(text: str) -> str:
        return f" ({text})" if (translation.get_language() or "").startswith("en") else f"（{text}）"

    def get_export_headers(self, selected_fields=None):
        headers = []
        for field in self.get_export_fields(selected_fields):
            name = self.get_field_name(field)
            headers.append(column_header(name))
            if name in LABELLED:
                headers.append(label_header(name))
        return headers

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = []
        for field in self.get_export_fields(selected_fields):
            name = self.get_field_name(field)
            row.append(self.export_field(field, instance, **kwargs))
            if name in LABELLED:
                row.append(getattr(self, f"label_{name}")(instance))
        return [escape_formula(value) for value in row]

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("bank", "pillar", "credit_route_agency").prefetch_related(
            "scenario_types", "partner_links__partner"
        )

    # --- import ---------------------------------------------------------------------------------------
    # The columns are parsed here (types, keys, lists); every rule — bank and role, status transitions, scenario
    # types of the pillar, partners, owner, the model's checks — is partnerships.services.initiatives', which
    # checks each row in the preview (initiative_validate) and writes it on confirm (initiative_create/update).
    def before_import(self, dataset, **kwargs):
        """Refuse the whole file, before any row is read: missing, unknown or repeated columns, too many rows."""
        super().before_import(dataset, **kwargs)
        self._headers_to_keys(dataset)
        headers = [h for h in (dataset.headers or []) if h not in (None, "")]
        allowed = [f.column_name for f in self.get_import_fields()]
        problems = []
        missing = [c for c in self._meta.import_id_fields if c not in headers]
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
        if problems:
            del dataset[0 : len(dataset)]  # the rows are not read one by one: the file is refused as it is
            raise ValueError(" ".join(str(p) for p in problems))

    def get_diff_headers(self):
        """The import preview's headers, in the reader's language."""
        return [column_header(field.column_name) for field in self.get_import_fields()]

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
                    keys.setdefault(column_header(name), name)
                    if name in LABELLED:
                        labels.add(label_header(name))
        keys.update({f.column_name: f.column_name for f in self.get_import_fields()})
        for header in [h for h in dataset.headers if isinstance(h, str) and h.strip() in labels - set(keys)]:
            del dataset[header]
        dataset.headers = [
            keys.get(h.strip(), h.strip()) if isinstance(h, str) else h for h in dataset.headers
        ]

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        for key, value in row.items():
            row[key] = unescape_formula(value)

    def get_instance(self, instance_loader, row):
        # The (bank, code) lookup cleans the bank column first; report a bad bank as that field's error.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError as exc:
            raise ValidationError({"bank": [str(exc)]}) from exc

    def import_instance(self, instance, row, **kwargs):
        if self.user is None:  # never the system's rights by omission: an import is always someone's
            raise ValidationError(_("An import needs the importing user."))
        errors: dict[str, list] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        data = self._service_data(instance, row, set(errors))
        try:
            initiative_validate(user=self.user, data=data, initiative=instance if instance.pk else None)
        except ServiceError as exc:
            errors = exc.as_validation_error().update_error_dict(errors)
        instance._service_data = data
        if errors:
            raise ValidationError(errors)

    def _service_data(self, instance: Initiative, row, failed: set[str]) -> dict:
        """The row as the initiative services take it: the columns present, as parsed by their widgets."""
        data: dict = {}
        for column in row:
            if column in failed or column not in self.fields:
                continue
            if column == "bank":
                data["bank"] = instance.bank_id
            elif column == "pillar":
                data["pillar"] = instance.pillar_id
            elif column == "scenario_types":
                data["scenario_types"] = ListWidget().clean(row.get(column))
            elif column == "partners":
                data["partners"] = [
                    {"partner": key.strip(), "role": role.strip() or PartnerRole.TECHNOLOGY}
                    for key, _sep, role in (
                        item.partition(":") for item in ListWidget().clean(row.get(column))
                    )
                ]
            elif column == "credit_route_agency":
                data["credit_route_agency"] = str(row.get(column) or "").strip() or None
            elif column in SIMPLE_FIELDS:
                data[column] = getattr(instance, column)
        return data

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)  # the service checked the rest in import_instance

    def save_instance(self, instance, is_create, row, **kwargs):
        if not self._is_using_transactions(kwargs) and self._is_dry_run(kwargs):
            return
        data = instance._service_data
        try:
            if is_create:
                saved = initiative_create(user=self.user, data=data)
            else:
                saved = initiative_update(user=self.user, initiative=instance.pk, data=data)
        except ServiceError as exc:  # the data changed since the row was checked: the row is refused
            raise exc.as_validation_error() from exc
        for field in Initiative._meta.concrete_fields:
            setattr(instance, field.attname, getattr(saved, field.attname))
        instance._state.adding = False

    def save_m2m(self, instance, row, **kwargs):
        pass  # scenario types and partners were written by the service with the initiative
