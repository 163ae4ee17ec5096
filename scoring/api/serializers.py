"""Serializers of the scoring API: scores, score jobs, rubrics, assessments, the what-if preview and reports.

``ScoredInitiativeSerializer`` is the partnerships initiative serializer plus ``current_score``: the scoring app
contributes the field, so partnerships never imports scoring.
"""

from __future__ import annotations

import copy

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partnerships.api.filters import MAX_ID
from partnerships.api.serializers import InitiativeSerializer, TenantPrimaryKeyRelatedField
from partnerships.choices import PillarKey
from partnerships.models import Initiative

from ..choices import CriterionSource, Tier
from ..models import (
    Assessment,
    Criterion,
    CurrentScore,
    Rating,
    Report,
    Rubric,
    RubricVersion,
    Score,
    ScoreJob,
)
from ..selectors import score_breakdown
from ..services.rubrics import CRITERION_FIELDS

MAX_JOB_INITIATIVES = 10_000
MAX_RATINGS = 200


# --- Scores --------------------------------------------------------------------------------------------
class CurrentScoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = CurrentScore
        fields = [
            "score",
            "total",
            "tier",
            "gate_passed",
            "provisional",
            "confidence",
            "rubric_version",
            "computed_at",
        ]
        read_only_fields = fields


class ScoredInitiativeSerializer(InitiativeSerializer):
    current_score = CurrentScoreSerializer(
        read_only=True, allow_null=True, help_text=_("The latest score; null until the initiative is scored.")
    )

    class Meta(InitiativeSerializer.Meta):
        fields = [*InitiativeSerializer.Meta.fields, "current_score"]


class BreakdownRowSerializer(serializers.Serializer):
    """One criterion's part in a score (documentation of the rows the engine gives)."""

    key = serializers.CharField()
    name = serializers.CharField(help_text=_("In the language of the request."))
    name_zh_hans = serializers.CharField(required=False)
    name_en = serializers.CharField(required=False)
    weight = serializers.FloatField()
    rating = serializers.FloatField(allow_null=True)
    normalised = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField(help_text=_("Points of the total (two decimals)."))
    source = serializers.ChoiceField(choices=["rated", "computed"])
    rationale = serializers.CharField(allow_blank=True)
    data = serializers.DictField(allow_null=True, help_text=_("The figures a computed criterion used."))
    is_gate = serializers.BooleanField()
    gate_threshold = serializers.FloatField(allow_null=True)
    gate_passed = serializers.BooleanField(allow_null=True)


class FailedGateSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    rating = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    reason = serializers.ChoiceField(choices=["unrated", "below threshold", "missing"])
    missing = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text='With reason "missing": the inputs the computed rating lacked (rubric version 2).',
    )


class ScoreSerializer(serializers.ModelSerializer):
    failed_gates = serializers.SerializerMethodField()
    breakdown = serializers.SerializerMethodField()
    assessment_status = serializers.SerializerMethodField()
    engine_version = serializers.SerializerMethodField()

    class Meta:
        model = Score
        fields = [
            "id",
            "initiative",
            "rubric_version",
            "assessment",
            "assessment_status",
            "job",
            "total",
            "tier",
            "gate_passed",
            "failed_gates",
            "confidence",
            "provisional",
            "breakdown",
            "engine_version",
            "inputs_hash",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(FailedGateSerializer(many=True))
    def get_failed_gates(self, obj: Score) -> list:
        return list(obj.failed_gates or [])

    @staticmethod
    def _breakdown(obj: Score) -> dict:
        # Rebuilt from the stored inputs by the engine (scoring.selectors); once per score, not per field.
        cached = getattr(obj, "_api_breakdown", None)
        if cached is None:
            cached = obj._api_breakdown = score_breakdown(obj)
        return cached

    @extend_schema_field(BreakdownRowSerializer(many=True))
    def get_breakdown(self, obj: Score) -> list:
        return list(self._breakdown(obj).get("rows", []))

    def get_assessment_status(self, obj: Score) -> str | None:
        return self._breakdown(obj).get("assessment_status")

    def get_engine_version(self, obj: Score) -> str | None:
        return self._breakdown(obj).get("engine_version")


class JobScoreSerializer(serializers.ModelSerializer):
    """An initiative's score as a finished job left it (its current score)."""

    initiative = serializers.IntegerField(source="initiative_id")

    class Meta:
        model = CurrentScore
        fields = [
            "initiative",
            "score",
            "total",
            "tier",
            "gate_passed",
            "provisional",
            "rubric_version",
            "computed_at",
        ]
        read_only_fields = fields


class FieldsBuiltOnceMixin:
    """A ModelSerializer whose fields are built from its model once per process (per class); every instance gets
    a deep copy of them, as DRF gives every instance a deep copy of the declared fields."""

    # why: ModelSerializer.get_fields() introspects the model and builds each field anew for every instance —
    # 0.4 ms of the 0.65 ms a score job's answer took, on every POST score/ and score-jobs/; the fields depend
    # on the class only (no request, no instance), so the copy is the same fields.
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return copy.deepcopy(built)


class ScoreJobSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    initiatives = serializers.ListField(
        source="initiative_ids",
        child=serializers.IntegerField(),
        allow_null=True,
        read_only=True,
        help_text=_("Null: every initiative in the job's scope."),
    )

    class Meta:
        model = ScoreJob
        fields = [
            "id",
            "kind",
            "status",
            "bank",
            "requested_by",
            "rubric_version",
            "pillar",
            "initiatives",
            "total",
            "done",
            "failed",
            "scores_created",
            "error",
            "request_id",
            "created_at",
            "enqueued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ScoreJobDetailSerializer(ScoreJobSerializer):
    scores = serializers.SerializerMethodField(
        help_text=_("When the job has finished: the current score of each of its initiatives you can see.")
    )

    class Meta(ScoreJobSerializer.Meta):
        fields = [*ScoreJobSerializer.Meta.fields, "scores"]
        read_only_fields = fields

    @extend_schema_field(JobScoreSerializer(many=True))
    def get_scores(self, obj: ScoreJob) -> list:
        return JobScoreSerializer(self.context.get("job_scores", []), many=True).data


class ScoreRequestSerializer(serializers.Serializer):
    rubric_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_(
            "Score against this published or retired version of the initiative's pillar; default: the published one."
        ),
    )


class ScoreJobCreateSerializer(serializers.Serializer):
    """Which initiatives to score: the shape only; the scoring service checks roles, banks and pillars."""

    initiatives = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_JOB_INITIATIVES,
        help_text=_(
            "Initiative ids, all of one bank where you hold the analyst role (superusers: any banks)."
        ),
    )
    rubric_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_(
            "Score against this published or retired version (its pillar's initiatives only); default: each "
            "pillar's published one."
        ),
    )


# --- Rubrics -------------------------------------------------------------------------------------------
class CriterionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Criterion
        fields = [
            "id",
            "version",
            "name",
            *CRITERION_FIELDS,  # what criterion_update may change (the key is read-only here)
        ]
        read_only_fields = ["id", "version", "key", "name"]


class RubricVersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = RubricVersion
        fields = ["id", "number", "status", "published_at"]
        read_only_fields = fields


class RubricSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    pillar = serializers.ChoiceField(source="pillar_id", choices=PillarKey.choices, read_only=True)
    versions = RubricVersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Rubric
        fields = [
            "id",
            "code",
            "urn",
            "pillar",
            "name",
            "name_zh_hans",
            "name_en",
            "description_zh_hans",
            "description_en",
            "is_default",
            "versions",
        ]
        read_only_fields = fields


class RubricVersionSerializer(serializers.ModelSerializer):
    rubric_code = serializers.CharField(source="rubric.code", read_only=True)
    pillar = serializers.CharField(source="rubric.pillar_id", read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = RubricVersion
        fields = [
            "id",
            "rubric",
            "rubric_code",
            "pillar",
            "number",
            "status",
            "tier_a",
            "tier_b",
            "tier_c",
            "confidence_threshold",
            "notes",
            "created_at",
            "published_at",
            "criteria",
        ]
        read_only_fields = [
            "id",
            "rubric",
            "rubric_code",
            "pillar",
            "number",
            "status",
            "created_at",
            "published_at",
        ]
        validators = []


class PublishResultSerializer(serializers.Serializer):
    version = RubricVersionSerializer()
    score_job = ScoreJobSerializer(
        allow_null=True, help_text=_("The re-scoring of the pillar's initiatives.")
    )


# --- Assessments ---------------------------------------------------------------------------------------
RATINGS_SCHEMA = {
    "oneOf": [
        {
            "type": "array",
            "maxItems": MAX_RATINGS,
            "items": {
                "type": "object",
                "required": ["criterion"],
                "properties": {
                    "criterion": {"type": "string", "description": "criterion key"},
                    "value": {"type": ["number", "null"]},
                    "rationale": {"type": "string"},
                },
            },
        },
        {
            "type": "object",
            "description": "{criterion key: rating or null}",
            "additionalProperties": {"type": ["number", "null"]},
        },
    ]
}


@extend_schema_field(RATINGS_SCHEMA)
class RatingsField(serializers.Field):
    """``[{criterion, value, rationale}]`` or ``{criterion: value}``, as a list of dicts for the services."""

    default_error_messages = {
        "type": _("Send a list of ratings (criterion, value, rationale) or an object of criterion: value."),
        "too_many": _("At most {max} ratings."),
        "item": _("Each rating has a criterion key, a value (a number or null) and an optional rationale."),
        "value": _("The rating must be a number or null."),
    }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = [{"criterion": key, "value": value} for key, value in data.items()]
        if not isinstance(data, list):
            self.fail("type")
        if len(data) > MAX_RATINGS:
            self.fail("too_many", max=MAX_RATINGS)
        items: list[dict] = []
        errors: dict[int, list[str]] = {}
        for i, item in enumerate(data):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("criterion"), str)
                or not 0 < len(item["criterion"]) <= 64
                or not isinstance(item.get("rationale", ""), str)
                or len(item.get("rationale") or "") > 5000
            ):
                errors[i] = [str(self.error_messages["item"])]
                continue
            value = item.get("value")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors[i] = [str(self.error_messages["value"])]
                continue
            items.append(
                {"criterion": item["criterion"], "value": value, "rationale": item.get("rationale") or ""}
            )
        if errors:
            raise serializers.ValidationError(errors)
        return items

    def to_representation(self, value):
        return value


class RatingSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.key", read_only=True)
    criterion_name = serializers.CharField(source="criterion.name", read_only=True)

    class Meta:
        model = Rating
        fields = ["criterion", "criterion_name", "value", "rationale"]
        read_only_fields = fields


class AssessmentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    returned_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    initiative_title = serializers.CharField(source="initiative.title", read_only=True)
    ratings = RatingSerializer(many=True, read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "initiative",
            "initiative_title",
            "rubric_version",
            "author",
            "status",
            "note",
            "submitted_at",
            "approved_by",
            "approved_at",
            "returned_reason",
            "returned_by",
            "returned_at",
            "created_at",
            "updated_at",
            "ratings",
        ]
        read_only_fields = fields


class AssessmentCreateSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("An initiative of a bank where you are an analyst.")
    )
    rubric_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("A published version of the initiative's pillar; default: the published default rubric."),
    )
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=20000)
    ratings = RatingsField(required=False, help_text=_("Optional first ratings of the draft."))


class RatingsWriteSerializer(serializers.Serializer):
    ratings = RatingsField(
        help_text=_("Upserted: ratings not sent keep their value; send value null to clear one.")
    )


class ReturnRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, help_text=_("Why it goes back to draft; the author reads it on the assessment.")
    )


class ApproveResultSerializer(serializers.Serializer):
    assessment = AssessmentSerializer()
    score_job = ScoreJobSerializer(help_text=_("The initiative's re-scoring, queued by the approval."))


# --- Preview -------------------------------------------------------------------------------------------
class PreviewRequestSerializer(serializers.Serializer):
    rubric_version = serializers.PrimaryKeyRelatedField(
        queryset=RubricVersion.objects.select_related("rubric"), required=False, allow_null=True
    )
    pillar = serializers.ChoiceField(
        choices=PillarKey.choices,
        required=False,
        allow_null=True,
        help_text=_("Its published default rubric."),
    )
    initiative = TenantPrimaryKeyRelatedField(
        model=Initiative,
        required=False,
        allow_null=True,
        help_text=_("Computed criteria take their values from this initiative's data."),
    )
    ratings = RatingsField(required=False, default=list)


class PreviewVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rubric = serializers.CharField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    pillar = serializers.ChoiceField(choices=PillarKey.choices)


class RatingChangeSerializer(serializers.Serializer):
    rating = serializers.FloatField(help_text=_("The new rating, a level of the criterion's scale."))
    change = serializers.FloatField(
        allow_null=True, help_text=_("The new rating less the current one; null when it is unrated now.")
    )
    tier = serializers.ChoiceField(choices=Tier.choices, help_text=_("The tier it would give."))
    total = serializers.FloatField()
    gate_passed = serializers.BooleanField()
    confidence = serializers.FloatField()
    provisional = serializers.BooleanField()


class WeightChangeSerializer(serializers.Serializer):
    weight = serializers.FloatField(help_text=_("The weight at which the tier flips, all ratings as given."))
    relative_change = serializers.FloatField(help_text=_("(new weight − weight) / weight."))
    tier = serializers.ChoiceField(choices=Tier.choices, help_text=_("The tier it would give."))
    total = serializers.FloatField()


class TierChangeSerializer(serializers.Serializer):
    """What one criterion alone could do to the tier (one change at a time, everything else as given)."""

    key = serializers.CharField()
    name = serializers.CharField(help_text=_("In the language of the request."))
    name_zh_hans = serializers.CharField()
    name_en = serializers.CharField()
    source = serializers.ChoiceField(choices=CriterionSource.choices)
    is_gate = serializers.BooleanField()
    rating = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField()
    up = RatingChangeSerializer(
        allow_null=True,
        help_text=_(
            "The smallest rating rise, on the scale's levels, that raises the tier; null if none does. "
            "For a computed criterion: the value its data would have to give."
        ),
    )
    down = RatingChangeSerializer(
        allow_null=True, help_text=_("The smallest rating fall that lowers the tier; null if none does.")
    )
    weight_up = WeightChangeSerializer(
        allow_null=True,
        help_text=_("The smallest weight rise that changes the tier (either way); null if none does."),
    )
    weight_down = WeightChangeSerializer(
        allow_null=True,
        help_text=_(
            "The smallest weight fall (to a weight above 0) that changes the tier; null if none does."
        ),
    )


class TierCapReasonSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="Always monitoring_event.")
    event_kind = serializers.CharField(help_text="The monitoring event's kind (incident, data_breach, …).")
    severity = serializers.CharField()
    occurred_on = serializers.DateField()
    status = serializers.CharField()


class TierCapSerializer(serializers.Serializer):
    cap = serializers.ChoiceField(choices=Tier.choices, help_text="The worst tier allowed until re-assessed.")
    tier = serializers.ChoiceField(choices=Tier.choices, help_text="The tier the ratings alone give.")
    capped = serializers.ChoiceField(choices=Tier.choices, help_text="The tier shown: the worse of the two.")
    reasons = TierCapReasonSerializer(
        many=True, help_text="The severe events recorded since the last approval."
    )


class PreviewResultSerializer(serializers.Serializer):
    rubric_version = PreviewVersionSerializer()
    initiative = serializers.IntegerField(allow_null=True)
    stored = serializers.BooleanField(help_text=_("Always false: a preview is stored nowhere."))
    engine_version = serializers.CharField()
    total = serializers.FloatField()
    tier = serializers.ChoiceField(choices=Tier.choices)
    gate_passed = serializers.BooleanField()
    failed_gates = FailedGateSerializer(many=True)
    confidence = serializers.FloatField()
    provisional = serializers.BooleanField()
    breakdown = BreakdownRowSerializer(many=True)
    tier_changes = TierChangeSerializer(
        many=True,
        help_text=_("Per criterion, in the breakdown's order: what single change would move the tier."),
    )
    tier_cap = TierCapSerializer(
        allow_null=True,
        help_text=(
            "For an initiative with a high or critical monitoring event recorded since its last approved "
            "assessment: the tier is capped until it is re-assessed (docs/lifecycle.md); null otherwise."
        ),
    )


# --- Reports -------------------------------------------------------------------------------------------
class ReportSerializer(serializers.ModelSerializer):
    bank_code = serializers.CharField(source="bank.code", read_only=True, allow_null=True)
    downloads = serializers.SerializerMethodField(help_text=_("CSV and XLSX links (ready reports)."))

    class Meta:
        model = Report
        fields = [
            "id",
            "kind",
            "bank",
            "bank_code",
            "period_start",
            "period_end",
            "status",
            "generated_at",
            "language",
            "emailed_at",
            "created_at",
            "updated_at",
            "downloads",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "csv": {"type": "string", "format": "uri"},
                "xlsx": {"type": "string", "format": "uri"},
            },
        }
    )
    def get_downloads(self, obj: Report):
        request = self.context.get("request")
        if request is None or obj.status != Report.Status.READY:
            return None
        view = self.context.get("view")
        base = view.reverse_action("download", args=[obj.pk]) if view is not None else ""
        return {fmt: f"{base}?format={fmt}" for fmt in ("csv", "xlsx")}


class ReportDetailSerializer(ReportSerializer):
    payload = serializers.JSONField(read_only=True, help_text=_("The report's data (see schema_version)."))
    html = serializers.CharField(read_only=True, help_text=_("The rendered page (HTML fragment)."))

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "error", "payload", "html"]
        read_only_fields = fields
