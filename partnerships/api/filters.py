"""Filters for the API: strict ordering with a stable tie-breaker, and the initiative filter set."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from ..choices import CostDriver, InitiativeStatus, PartnerKind, PillarKey, RiskTier
from ..models import KPI, Initiative, InitiativePartner, PartnerDueDiligence, TechPartner

MAX_ID = 2**63 - 1


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=a,-b``: an unknown term is a 400 (not silently ignored); ``id`` breaks ties, so pages are stable."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw:
            terms = [t.strip() for t in raw.split(",") if t.strip()]
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            bad = [t for t in terms if t.lstrip("-") not in allowed]
            if bad or not terms:
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


class KPIFilter(filters.FilterSet):
    initiative = IdFilter(field_name="initiative_id", label=_("Initiative id"))
    cost_driver = filters.ChoiceFilter(choices=CostDriver.choices)

    class Meta:
        model = KPI
        fields = ["initiative", "cost_driver"]


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
