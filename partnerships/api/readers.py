"""The read path of initiative lists and details: the serializer's output, built from ``values()`` rows.

Why not the serializer: a 50-row page through ``InitiativeSerializer`` cost about 65 ms of CPU on this kind of
machine — model instances for every row, their bank, pillar, owner and score, a prefetch that builds a queryset
per row, and DRF walking ~25 fields and two nested serializers per row — and gunicorn's two workers spent their
time there under load (docs/performance.md). Here one ``values()`` query reads the page's columns (joins
included), two ``values_list`` queries read its partners and scenario types, and each value is formatted by the
serializer's **own field objects** (dates, decimals, choices), so the JSON is the same, byte for byte.
Writes, the schema and every other action keep the serializer.

The reader checks, when first used, that it produces exactly the serializer's readable fields in the
serializer's order; a field added to the serializer and not here is an error at once (and in
tests/api/test_readers.py, which compares both outputs on every kind of initiative).
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from rest_framework import serializers
from rest_framework.fields import DateTimeField
from rest_framework.relations import PrimaryKeyRelatedField

from ..choices import PersonalDataCategory
from ..models import Initiative, InitiativeDataCategory, InitiativePartner
from ..models.base import bilingual_name, prefers_english

localized = bilingual_name  # BilingualNameModel.name, for values() rows


def _zone_pinned(field, zones: dict):
    """``field``, or for a DateTimeField that asks Django for the current time zone on every value, a copy that
    holds the zone it would get now (DRF's own ``timezone`` attribute, which ``enforce_timezone`` prefers);
    ``zones`` keeps that zone for the other fields of the same response."""
    # why: default_timezone() is get_current_timezone(), a context-variable lookup through asgiref, ~10 % of a
    # 50-row page's CPU; the zone cannot change while one response is built, so the text is the same.
    if not isinstance(field, DateTimeField) or hasattr(field, "timezone"):
        return field
    if "zone" not in zones:
        zones["zone"] = field.default_timezone()
    pinned = copy.copy(field)
    pinned.timezone = zones["zone"]
    return pinned


def _identity(field) -> tuple[type | None, dict | None]:
    """(the value type a field of exactly this DRF class answers unchanged, or mapped through the dict), or (None,
    None): ``BooleanField`` answers a bool as it is, ``CharField`` a str, ``IntegerField`` an int, ``ChoiceField`` a
    str through its ``choice_strings_to_values``."""
    # why: BooleanField.to_representation lower-cases and looks its value up in three sets inside a
    # contextlib.suppress block — seven of them a row, fifty rows a page; the answer for a bool is the bool.
    # Exact classes only: a subclass may answer otherwise. tests/api/test_readers.py holds the bytes equal.
    kind = type(field)
    if kind is serializers.BooleanField:
        return bool, None
    if kind is serializers.CharField:
        return str, None
    if kind is serializers.IntegerField:
        return int, None
    if kind is serializers.ChoiceField:
        return str, field.choice_strings_to_values
    return None, None


def _choice_label(choices, value: str) -> str:
    """A choice's label in the active language, as ``get_<field>_display`` gives it (the value when unknown)."""
    return str(choices(value).label) if value in choices.values else value


# PostgreSQL, one round trip (InitiativeReader._children): the same columns and orders as _partners,
# _scenario_types and _data_categories.
_CHILDREN_SQL = """
SELECT ip.initiative_id, p.key, p.name_zh_hans, p.name_en, ip.role, ip.note, ip.services
  FROM partnerships_initiativepartner ip JOIN partnerships_techpartner p ON p.id = ip.partner_id
 WHERE ip.initiative_id = ANY(%s) ORDER BY ip.role, p.key;
SELECT st.initiative_id, t.key
  FROM partnerships_initiative_scenario_types st JOIN partnerships_scenariotype t ON t.id = st.scenariotype_id
 WHERE st.initiative_id = ANY(%s) ORDER BY t.position, t.key;
SELECT c.initiative_id, c.category, c.lawful_basis, c.separate_consent
  FROM partnerships_initiativedatacategory c
 WHERE c.initiative_id = ANY(%s) ORDER BY c.category
"""


# PostgreSQL, in the rows' own query (InitiativeReader.values): each initiative's partners, scenario types and
# personal-data categories as one JSON array of three (null where there are none), the same columns and orders as
# _CHILDREN_SQL — no second round trip, one JSON text to decode a row.
_CHILDREN_COLUMN = "_reader_children"
_CHILDREN_JSON = """json_build_array((
SELECT json_agg(json_build_array(p.key, p.name_zh_hans, p.name_en, ip.role, ip.note, ip.services)
                ORDER BY ip.role, p.key)
  FROM partnerships_initiativepartner ip JOIN partnerships_techpartner p ON p.id = ip.partner_id
 WHERE ip.initiative_id = {table}.id), (
SELECT json_agg(t.key ORDER BY t.position, t.key)
  FROM partnerships_initiative_scenario_types st JOIN partnerships_scenariotype t ON t.id = st.scenariotype_id
 WHERE st.initiative_id = {table}.id), (
SELECT json_agg(json_build_array(c.category, c.lawful_basis, c.separate_consent) ORDER BY c.category)
  FROM partnerships_initiativedatacategory c
 WHERE c.initiative_id = {table}.id))::text"""


@dataclass(frozen=True)
class Nested:
    """A one-to-one relation read as an object or null: ``present`` is the column that is null when it is absent;
    ``columns`` maps the nested serializer's field names to ``values()`` lookups."""

    present: str
    columns: dict[str, str]


# Fields read straight from a column of the initiative (the output name, the ``values()`` lookup).
PLAIN = {
    "id": "id",
    "bank": "bank_id",
    "bank_code": "bank__code",
    "code": "code",
    "title": "title",
    "description": "description",
    "pillar": "pillar_id",
    "status": "status",
    "start_date": "start_date",
    "end_date": "end_date",
    "owner": "owner__username",
    "personal_data_categories": "personal_data_categories",
    "lawful_basis": "lawful_basis",
    "security_assessment_done": "security_assessment_done",
    "cross_border_transfer": "cross_border_transfer",
    "transfer_mechanism": "transfer_mechanism",
    "no_personal_data": "no_personal_data",
    "provided_to_partner": "provided_to_partner",
    "provision_separate_consent": "provision_separate_consent",
    "cross_border_destination": "cross_border_destination",
    "cross_border_separate_consent": "cross_border_separate_consent",
    "credit_use": "credit_use",
    "credit_route_agency": "credit_route_agency__key",
    "impact_assessment_on": "impact_assessment_on",
    "processing_agreement": "processing_agreement",
    "is_illustrative": "is_illustrative",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
NAMES = {
    "bank_name": ("bank__name_zh_hans", "bank__name_en"),
    "pillar_name": ("pillar__name_zh_hans", "pillar__name_en"),
}
RELATED = ("partners", "scenario_types", "data_categories")


class InitiativeReader:
    """Builds ``serializer_class``'s representation of initiatives from a ``values()`` queryset.

    ``nested`` adds one-to-one objects other apps contribute (scoring's ``current_score``); ``extra_columns``
    are read but not shown (a cursor page's ordering annotation).
    """

    def __init__(
        self,
        serializer_class,
        *,
        nested: dict[str, Nested] | None = None,
        extra_columns: Sequence[str] = (),
    ) -> None:
        self.serializer_class = serializer_class
        self.nested = nested or {}
        self.extra_columns = tuple(extra_columns)
        self._plan: list[tuple[str, str, object]] | None = None
        self._zoned: list[int] | None = None  # the plan's entries that may hold a DateTimeField
        self._templates: dict[Callable, QuerySet] = {}

    # -- plan (built once per process, from one serializer instance's fields) --------------------------
    def _build(self) -> list[tuple[str, str, object]]:
        fields = self.serializer_class().fields
        names = [name for name, field in fields.items() if not field.write_only]
        known = set(PLAIN) | set(NAMES) | set(RELATED) | set(self.nested)
        if set(names) != known:
            raise RuntimeError(
                f"{self.serializer_class.__name__} and InitiativeReader disagree: serializer only "
                f"{sorted(set(names) - known)}, reader only {sorted(known - set(names))}"
            )
        plan = []
        for name in names:
            field = fields[name]
            if (
                name == "owner"
            ):  # the serializer reads the user and shows its username: the column is the username
                plan.append(("raw", name, PLAIN[name]))
            elif name in PLAIN:
                plan.append(("plain", name, (PLAIN[name], field, *_identity(field))))
            elif name in NAMES:
                plan.append(("name", name, NAMES[name]))
            elif name == "partners":
                child = field.child.fields
                if [n for n, f in child.items() if not f.write_only] != [
                    "partner",
                    "partner_name",
                    "role",
                    "note",
                    "services",
                ]:
                    raise RuntimeError("partners: the reader and the partner serializer's fields disagree")
                plan.append(("partners", name, (child["role"], child["note"], child["services"])))
            elif name == "scenario_types":
                plan.append(("scenario_types", name, None))
            elif name == "data_categories":
                child = field.child.fields
                shown = [n for n, f in child.items() if not f.write_only]
                if shown != ["category", "category_name", "lawful_basis", "separate_consent"]:
                    raise RuntimeError(
                        "data_categories: the reader and the category serializer's fields disagree"
                    )
                plan.append(("data_categories", name, (child["lawful_basis"], child["separate_consent"])))
            else:
                spec = self.nested[name]
                nested_fields = field.fields
                if set(spec.columns) != {n for n, f in nested_fields.items() if not f.write_only}:
                    raise RuntimeError(f"{name}: the reader's columns and the serializer's fields disagree")
                columns = []
                for n in spec.columns:
                    field = nested_fields[n]
                    # A related field shows the id the column already holds (DRF hands it a PKOnlyObject).
                    columns.append(
                        (n, spec.columns[n], None if isinstance(field, PrimaryKeyRelatedField) else field)
                    )
                plan.append(("nested", name, (spec.present, columns)))
        return plan

    @property
    def plan(self):
        if self._plan is None:
            self._plan = self._build()
        return self._plan

    def _pinned_plan(self) -> list[tuple[str, str, object]]:
        """The plan with its date-time fields pinned to the current time zone (``_zone_pinned``), per response."""
        plan = self.plan
        if self._zoned is None:
            self._zoned = [
                i
                for i, (kind, _name, spec) in enumerate(plan)
                if (kind == "plain" and isinstance(spec[1], DateTimeField))
                or (kind == "nested" and any(isinstance(f, DateTimeField) for _n, _c, f in spec[1]))
            ]
        pinned, zones = list(plan), {}
        for i in self._zoned:
            kind, name, spec = plan[i]
            if kind == "plain":
                column, field, exact, mapping = spec
                pinned[i] = (kind, name, (column, _zone_pinned(field, zones), exact, mapping))
            else:
                present, columns = spec
                pinned[i] = (
                    kind,
                    name,
                    (present, [(n, c, f and _zone_pinned(f, zones)) for n, c, f in columns]),
                )
        return pinned

    @property
    def columns(self) -> tuple[str, ...]:
        cols = list(PLAIN.values())
        for pair in NAMES.values():
            cols.extend(pair)
        for spec in self.nested.values():
            cols.extend(spec.columns.values())
        cols.extend(self.extra_columns)
        return tuple(dict.fromkeys(cols))

    def values(self, queryset):
        """The queryset as the rows ``represent`` takes (no select_related or prefetch needed: joins are here).

        On PostgreSQL the rows carry their partners, scenario types and data categories too (``_CHILDREN_JSON``,
        three correlated subqueries read as JSON), so a page or a detail is one round trip; elsewhere
        ``represent`` reads them with the ORM (``_children``)."""
        from django.db import connections

        if connections[queryset.db].vendor != "postgresql" or queryset.model is not Initiative:
            return queryset.values(*self.columns)
        from config.db.postgresql.base import PreparedValuesIterable

        table = connections[queryset.db].ops.quote_name(Initiative._meta.db_table)
        children = {_CHILDREN_COLUMN: RawSQL(_CHILDREN_JSON.format(table=table), ())}
        rows = queryset.annotate(**children).values(*self.columns, *children)
        # Planned once per connection, not on every request: its planning took longer than its run.
        rows._iterable_class = PreparedValuesIterable
        return rows

    def template(self, rows: Callable[[], QuerySet]) -> QuerySet:
        """``values(rows())``, resolved once per process; each call answers a fresh copy of it, which the caller
        scopes and filters (the WHERE clauses are the same whether added before or after ``values()``)."""
        # why: values() resolves ~40 lookups and their joins (Query.set_values) on every request — about a tenth
        # of a detail request's CPU — although they never change; a copy of the resolved query is much cheaper.
        # The template itself is never evaluated (``.all()`` is a new queryset), so no rows are kept in it.
        # Keyed by the function (a viewset's reader_rows), so that a subclass with other rows and the same
        # reader gets a template of its own.
        key = getattr(rows, "__func__", rows)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self.values(rows())
        return template.all()

    # -- rows -------------------------------------------------------------------------------------------
    @staticmethod
    def _partners(ids: Iterable[int]) -> dict[int, list[tuple]]:
        rows = (
            InitiativePartner.objects.filter(initiative_id__in=ids)
            .order_by("role", "partner__key")
            .values_list(
                "initiative_id",
                "partner__key",
                "partner__name_zh_hans",
                "partner__name_en",
                "role",
                "note",
                "services",
            )
        )
        out: dict[int, list[tuple]] = defaultdict(list)
        for initiative_id, *rest in rows:
            out[initiative_id].append(rest)
        return out

    @staticmethod
    def _scenario_types(ids: Iterable[int]) -> dict[int, list[str]]:
        through = Initiative.scenario_types.through
        rows = (
            through.objects.filter(initiative_id__in=ids)
            .order_by("scenariotype__position", "scenariotype__key")
            .values_list("initiative_id", "scenariotype__key")
        )
        out: dict[int, list[str]] = defaultdict(list)
        for initiative_id, key in rows:
            out[initiative_id].append(key)
        return out

    @staticmethod
    def _data_categories(ids: Iterable[int]) -> dict[int, list[tuple]]:
        rows = (
            InitiativeDataCategory.objects.filter(initiative_id__in=ids)
            .order_by("category")
            .values_list("initiative_id", "category", "lawful_basis", "separate_consent")
        )
        out: dict[int, list[tuple]] = defaultdict(list)
        for initiative_id, *rest in rows:
            out[initiative_id].append(rest)
        return out

    @classmethod
    def _children(cls, ids: list[int]) -> tuple[dict, dict, dict]:
        """The rows' partners, scenario types and personal-data categories.

        On PostgreSQL the three reads go as one round trip of three statements, written out once below: the
        ORM built the same three queries anew for every request (about a third of a detail request's time,
        docs/performance.md) and sent them one after the other. They read only the ids the tenancy-scoped
        query above returned, in the orders of the ORM methods they replace (used elsewhere, and held equal to
        these by tests/api/test_readers.py)."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return cls._partners(ids), cls._scenario_types(ids), cls._data_categories(ids)
        services = InitiativePartner._meta.get_field("services")
        partners: dict[int, list[tuple]] = defaultdict(list)
        scenario_types: dict[int, list[str]] = defaultdict(list)
        categories: dict[int, list[tuple]] = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(_CHILDREN_SQL, [ids, ids, ids])
            for initiative_id, *rest in cursor.fetchall():
                rest[-1] = services.from_db_value(rest[-1], None, connection)
                partners[initiative_id].append(rest)
            cursor.cursor.nextset()
            for initiative_id, key in cursor.fetchall():
                scenario_types[initiative_id].append(key)
            cursor.cursor.nextset()
            for initiative_id, *rest in cursor.fetchall():
                categories[initiative_id].append(rest)
        return partners, scenario_types, categories

    @staticmethod
    def _children_of(rows: Sequence[dict]) -> tuple[dict, dict, dict]:
        """``_children``'s three maps from the JSON column the rows were read with (``values``)."""
        loads = json.loads
        partners, scenario_types, categories = {}, {}, {}
        for row in rows:
            row_partners, row_types, row_categories = loads(row[_CHILDREN_COLUMN])
            initiative_id = row["id"]
            if row_partners is not None:  # json_agg over no rows is NULL
                partners[initiative_id] = row_partners
            if row_types is not None:
                scenario_types[initiative_id] = row_types
            if row_categories is not None:
                categories[initiative_id] = row_categories
        return partners, scenario_types, categories

    def represent(self, rows: Sequence[dict]) -> list[dict]:
        rows = list(rows)
        if not rows:
            return []
        if _CHILDREN_COLUMN in rows[0]:
            partners, scenario_types, categories = self._children_of(rows)
        else:
            partners, scenario_types, categories = self._children([row["id"] for row in rows])
        plan = self._pinned_plan()
        english = prefers_english()  # once per response, not once per name (bilingual_name)
        out = []
        for row in rows:
            item: dict = {}
            for kind, name, spec in plan:
                if kind == "plain":
                    column, field, exact, mapping = spec
                    value = row[column]
                    if value is None:
                        item[name] = None
                    elif value.__class__ is exact:  # what the field would answer, without asking it
                        item[name] = value if mapping is None else mapping.get(value, value)
                    else:
                        item[name] = field.to_representation(value)
                elif kind == "raw":
                    item[name] = row[spec]
                elif kind == "name":
                    item[name] = localized(row[spec[0]], row[spec[1]], english)
                elif kind == "partners":
                    role_field, note_field, services_field = spec
                    item[name] = [
                        {
                            "partner": key,
                            "partner_name": localized(zh, en, english),
                            "role": role_field.to_representation(role),
                            "note": note_field.to_representation(note),
                            "services": services_field.to_representation(services),
                        }
                        for key, zh, en, role, note, services in partners.get(row["id"], ())
                    ]
                elif kind == "scenario_types":
                    item[name] = scenario_types.get(row["id"], [])
                elif kind == "data_categories":
                    basis_field, consent_field = spec
                    item[name] = [
                        {
                            "category": category,
                            "category_name": _choice_label(PersonalDataCategory, category),
                            "lawful_basis": basis_field.to_representation(basis),
                            "separate_consent": consent_field.to_representation(consent),
                        }
                        for category, basis, consent in categories.get(row["id"], ())
                    ]
                else:
                    present, columns = spec
                    if row[present] is None:
                        item[name] = None
                    else:
                        item[name] = {
                            n: row[col] if row[col] is None or f is None else f.to_representation(row[col])
                            for n, col, f in columns
                        }
            out.append(item)
        return out
