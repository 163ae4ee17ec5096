"""Filters for the API: strict ordering with a stable tie-breaker, and the initiative filter set."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from ..choices import CostDriver, EvidenceKind, InitiativeStatus, PartnerKind, PillarKey, RiskTier
from ..models import (
    KPI,
    Evidence,
    Initiative,
    InitiativePartner,
    KPIObservation,
    PartnerDueDiligence,
    TechPartner,
)

MAX_ID = 2**63 - 1


class ApiFilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, with a filter given no value (``?bank=``) refused with 400 rather than ignored.

    The schema states every filter's type (an integer, a date, a choice, a non-empty string: see
    ``config.api_errors.StrictFilterExtension``), and an empty value is none of these; ``search`` (a SearchFilter,
    not a filter of the set) still takes an empty value.
    """

    def filter_queryset(self, request, queryset, view):
        # django-filter builds a FilterSet for every request — its filters and its form deep-copied, about a
        # millisecond — even when the query names none of them (a plain page of a list). Nothing is filtered
        # then, so the queryset is returned as is. A parameter that starts with a filter's name counts as
        # naming it (the suffixed parameters of range filters).
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names = tuple(filterset_class.base_filters)
            if not any(param.startswith(names) for param in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            blank = [name for name in filterset.filters if "" in request.query_params.getlist(name)]
            if blank:
                raise ValidationError({name: [_("This field may not be blank.")] for name in blank})
        return filterset


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=a,-b``: an unknown term is a 400 (not silently ignored); ``id`` breaks ties, so pages are stable.

    The schema states the terms: an array of the allowed fields and their ``-`` forms, sent comma-separated
    (``style: form, explode: false``); the parameter repeated (``ordering=a&ordering=-b``) is read the same way.
    """

    def get_schema_operation_parameters(self, view):
        fields = [name for name, _label in self.get_valid_fields(None, view, {})]
        terms = [term for name in fields for term in (name, f"-{name}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": str(
                    _(
                        "Order by one or more of these fields, comma-separated; “-” before a field for descending."
                    )
                ),
                "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": terms}},
                "style": "form",
                "explode": False,
            }
        ]

    def get_ordering(self, request, queryset, view):
        values = request.query_params.getlist(self.ordering_param)
        raw = ",".join(values)
        if values:
            terms = raw.split(",")  # as the schema's enum: no blanks, no empty terms
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            bad = [t for t in terms if t.removeprefix("-") not in allowed]
            if bad:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            _(
                                "Unknown ordering “%(terms)s”; choose from %(allowed)s, with “-” for descending."
                            )
                            % {"terms": ", ".join(bad) or raw, "allowed": ", ".join(sorted(allowed))}
                        ]
                    }
                )
            ordering = terms
        else:
            ordering = list(self.get_default_ordering(view) or [])
        if ordering and not any(t.lstrip("-") in ("id", "pk") for t in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


class ApiSearchFilter(SearchFilter):
    """DRF's search, with a bad term (a NUL character) reported on the ``search`` parameter."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from None


class StrictNullBooleanField(forms.NullBooleanField):
    """true/false/1/0 (or nothing); anything else is an error rather than "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise forms.ValidationError(_("Use true or false."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictNullBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", forms.TextInput
        )  # the default widget turns any unknown value into "no filter"
        super().__init__(*args, **kwargs)


class IdFilter(filters.Filter):
    """An integer id: non-numbers and out-of-range values are a 400, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC: ISO allows offsets (e.g. -19:47) that PostgreSQL refuses."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError:  # beyond the range of dates: nothing changed after it, or everything did
                return qs.none() if value.year > 1 else qs
        return super().filter(qs, value)


class InitiativeFilter(filters.FilterSet):
    pillar = filters.ChoiceFilter(field_name="pillar_id", choices=PillarKey.choices, label=_("Pillar key"))
    status = filters.MultipleChoiceFilter(
        choices=InitiativeStatus.choices, label=_("Status (repeat the parameter for several)")
    )
    bank = IdFilter(field_name="bank_id", label=_("Bank id"))
    partner = filters.CharFilter(method="filter_partner", max_length=64, label=_("Tech partner key"))
    scenario_type = filters.CharFilter(
        method="filter_scenario_type", max_length=64, label=_("Scenario type key")
    )
    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("Changed at or after (ISO 8601 date-time)")
    )

    class Meta:
        model = Initiative
        fields = ["pillar", "status", "bank", "partner", "scenario_type", "updated_since"]

    def filter_partner(self, queryset, name, value):
        # EXISTS rather than a join: an initiative with several partners stays one row.
        links = InitiativePartner.objects.filter(initiative=OuterRef("pk"), partner__key=value)
        return queryset.filter(Exists(links))

    def filter_scenario_type(self, queryset, name, value):
        through = Initiative.scenario_types.through.objects.filter(
            initiative=OuterRef("pk"), scenariotype__key=value
        )
        return queryset.filter(Exists(through))


class EvidenceFilter(filters.FilterSet):
    # An id, not a choice among all initiatives: an id outside your banks (or none) finds nothing, not a 400.
    initiative = IdFilter(field_name="initiative_id", label=_("Initiative id"))
    kind = filters.ChoiceFilter(choices=EvidenceKind.choices)

    class Meta:
        model = Evidence
        fields = ["initiative", "kind"]


class KPIFilter(filters.FilterSet):
    initiative = IdFilter(field_name="initiative_id", label=_("Initiative id"))
    cost_driver = filters.ChoiceFilter(choices=CostDriver.choices)

    class Meta:
        model = KPI
        fields = ["initiative", "cost_driver"]


class KPIObservationFilter(filters.FilterSet):
    kpi = IdFilter(field_name="kpi_id", label=_("KPI id"))
    initiative = IdFilter(field_name="kpi__initiative_id", label=_("Initiative id"))
    observed_since = filters.DateFilter(
        field_name="observed_on", lookup_expr="gte", label=_("Observed on or after (YYYY-MM-DD)")
    )
    observed_until = filters.DateFilter(
        field_name="observed_on", lookup_expr="lte", label=_("Observed on or before (YYYY-MM-DD)")
    )

    class Meta:
        model = KPIObservation
        fields = ["kpi", "initiative", "observed_since", "observed_until"]


class TechPartnerFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=PartnerKind.choices)
    is_illustrative = StrictBooleanFilter(label=_("Illustrative (true / false)"))

    class Meta:
        model = TechPartner
        fields = ["kind", "is_illustrative"]


class DueDiligenceFilter(filters.FilterSet):
    bank = IdFilter(field_name="bank_id", label=_("Bank id"))
    partner = filters.CharFilter(field_name="partner__key", max_length=64, label=_("Tech partner key"))
    inherent_risk_tier = filters.ChoiceFilter(choices=RiskTier.choices)

    class Meta:
        model = PartnerDueDiligence
        fields = ["bank", "partner", "inherent_risk_tier"]
