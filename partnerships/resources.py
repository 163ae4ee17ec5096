"""Import and export of initiatives as CSV / XLSX (django-import-export), scoped to the user's banks.

Columns: bank (code), code, title, description, pillar (key), scenario_types (keys, "|"-separated),
partners ("partner_key:role|…"; role defaults to technology), status, start_date, end_date, and the
data-sharing facts. Rows are matched on (bank, code): an existing initiative is updated, a new one created.

A file is refused whole (nothing is read row by row) when it lacks bank or code, has a column not listed
above or a column twice, or more than IMPORT_MAX_ROWS rows. On export a text cell that a spreadsheet would run
as a formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe; on import that
apostrophe is taken off again, so an exported file imports back unchanged.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, results, widgets

from .choices import PartnerRole
from .errors import ServiceError
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


class StrictBooleanWidget(widgets.BooleanWidget):
    """A yes/no cell: 1/0, true/false or empty; anything else ("maybe") is an error, never a silent False."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        if value in self.NULL_VALUES or value in self.TRUE_VALUES or value in self.FALSE_VALUES:
            return super().clean(value, row, **kwargs)
        raise ValueError(
            _("“%(value)s” is not a yes/no value; use 1 or 0 (or true / false).") % {"value": value}
        )


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


class InitiativeResource(resources.ModelResource):
    bank = fields.Field(attribute="bank", column_name="bank")
    pillar = fields.Field(attribute="pillar", column_name="pillar", widget=KeyWidget(Pillar, field="key"))
    scenario_types = fields.Field(column_name="scenario_types", widget=ListWidget())
    partners = fields.Field(column_name="partners", widget=ListWidget())
    personal_data_categories = fields.Field(
        attribute="personal_data_categories", column_name="personal_data_categories", widget=ListWidget()
    )

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
            "cross_border_transfer",
            "transfer_mechanism",
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
        for name in ("security_assessment_done", "cross_border_transfer"):
            self.fields[name].widget = StrictBooleanWidget()
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

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = super().export_resource(instance, selected_fields, **kwargs)
        return [escape_formula(value) for value in row]

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("bank", "pillar").prefetch_related(
            "scenario_types", "partner_links__partner"
        )

    # --- import ---------------------------------------------------------------------------------------
    # The columns are parsed here (types, keys, lists); every rule — bank and role, status transitions, scenario
    # types of the pillar, partners, owner, the model's checks — is partnerships.services.initiatives', which
    # checks each row in the preview (initiative_validate) and writes it on confirm (initiative_create/update).
    def before_import(self, dataset, **kwargs):
        """Refuse the whole file, before any row is read: missing, unknown or repeated columns, too many rows."""
        super().before_import(dataset, **kwargs)
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
