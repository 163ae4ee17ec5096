"""Filter sets of the scoring API, and the score filters added to the initiative filter set."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from partnerships.api.filters import IdFilter, InitiativeFilter, StrictBooleanFilter
from partnerships.choices import PillarKey

from ..choices import AssessmentStatus, JobKind, JobStatus, Tier, VersionStatus
from ..models import Assessment, Criterion, Report, RubricVersion, ScoreJob


class ScoredInitiativeFilter(InitiativeFilter):
    tier = filters.MultipleChoiceFilter(
        field_name="current_score__tier", choices=Tier.choices, label=_("Current tier (repeat for several)")
    )
    min_score = filters.NumberFilter(
        field_name="current_score__total",
        lookup_expr="gte",
        min_value=0,
        max_value=100,
        label=_("Current total ≥"),
    )
    max_score = filters.NumberFilter(
        field_name="current_score__total",
        lookup_expr="lte",
        min_value=0,
        max_value=100,
        label=_("Current total ≤"),
    )
    scored = StrictBooleanFilter(
        field_name="current_score", lookup_expr="isnull", exclude=True, label=_("Has a score")
    )

    class Meta(InitiativeFilter.Meta):
        fields = [*InitiativeFilter.Meta.fields, "tier", "min_score", "max_score", "scored"]


class AssessmentFilter(filters.FilterSet):
    initiative = IdFilter(field_name="initiative_id", label=_("Initiative id"))
    rubric_version = IdFilter(field_name="rubric_version_id", label=_("Rubric version id"))
    status = filters.MultipleChoiceFilter(choices=AssessmentStatus.choices)

    class Meta:
        model = Assessment
        fields = ["initiative", "rubric_version", "status"]


class ScoreJobFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices)
    kind = filters.MultipleChoiceFilter(choices=JobKind.choices)

    class Meta:
        model = ScoreJob
        fields = ["status", "kind"]


class RubricVersionFilter(filters.FilterSet):
    rubric = IdFilter(field_name="rubric_id", label=_("Rubric id"))
    pillar = filters.ChoiceFilter(field_name="rubric__pillar_id", choices=PillarKey.choices)
    status = filters.MultipleChoiceFilter(choices=VersionStatus.choices)

    class Meta:
        model = RubricVersion
        fields = ["rubric", "pillar", "status"]


class CriterionFilter(filters.FilterSet):
    version = IdFilter(field_name="version_id", label=_("Rubric version id"))

    class Meta:
        model = Criterion
        fields = ["version"]


class ReportFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Report.Kind.choices)
    bank = IdFilter(field_name="bank_id", label=_("Bank id"))
    status = filters.MultipleChoiceFilter(choices=Report.Status.choices)
    period_start_after = filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_start_before = filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = Report
        fields = ["kind", "bank", "status", "period_start_after", "period_start_before"]
