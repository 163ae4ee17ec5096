"""Viewsets of the scoring API, and the initiative viewset the router serves (partnerships' plus scores).

Reads are scoped by ``ApiViewMixin`` (the API's one tenancy place); writes go through the scoring services, whose
``ServiceError`` the API's exception handler turns into 400 (with fields), 403, 404 or 409.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, Prefetch, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config.api_errors import errors
from partnerships.api.filters import ApiFilterBackend, StrictOrderingFilter
from partnerships.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from partnerships.api.readers import InitiativeReader, Nested
from partnerships.api.views import ApiViewMixin, InitiativeViewSet, ThrottleRefusalsMixin
from partnerships.models import Initiative
from partnerships.tenancy import scope_queryset

from ..choices import JobStatus
from ..errors import Conflict
from ..models import Assessment, Criterion, CurrentScore, Rating, Rubric, RubricVersion, Score, ScoreJob
from ..services.assessments import (
    assessment_approve,
    assessment_create,
    assessment_return,
    assessment_set_ratings,
    assessment_submit,
)
from ..services.jobs import score_job_request
from ..services.preview import score_preview
from ..services.rubrics import (
    criterion_update,
    rubric_version_clone,
    rubric_version_publish,
    rubric_version_update,
)
from .checklists import InitiativeChecklistMixin, SavedInitiativeSerializer
from .filters import (
    AssessmentFilter,
    CriterionFilter,
    ReportFilter,
    RubricVersionFilter,
    ScoredInitiativeFilter,
    ScoreJobFilter,
)
from .serializers import (
    ApproveResultSerializer,
    AssessmentCreateSerializer,
    AssessmentSerializer,
    CriterionSerializer,
    PreviewRequestSerializer,
    PreviewResultSerializer,
    PublishResultSerializer,
    RatingSerializer,
    RatingsWriteSerializer,
    ReportDetailSerializer,
    ReportSerializer,
    ReturnRequestSerializer,
    RubricSerializer,
    RubricVersionSerializer,
    ScoredInitiativeSerializer,
    ScoreJobCreateSerializer,
    ScoreJobDetailSerializer,
    ScoreJobSerializer,
    ScoreRequestSerializer,
    ScoreSerializer,
)

SCORING_THROTTLE = "scoring"
JOB_SCORES_LIMIT = 1000


def job_location(request, job: ScoreJob) -> str:
    """Absolute URL of a score job, in the namespace the API is mounted under."""
    namespace = getattr(getattr(request, "resolver_match", None), "namespace", "") or "api"
    try:
        path = reverse(f"{namespace}:score-job-detail", args=[job.pk])
    except NoReverseMatch:
        path = reverse("api:score-job-detail", args=[job.pk])
    return request.build_absolute_uri(path)


def accepted_job(request, job: ScoreJob) -> Response:
    return Response(
        ScoreJobSerializer(job).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": job_location(request, job)},
    )


# --- Initiatives with scores ---------------------------------------------------------------------------
# CurrentScoreSerializer's fields as columns of an initiative's values row (null score: no current score).
CURRENT_SCORE_COLUMNS = Nested(
    present="current_score__score",
    columns={
        "score": "current_score__score",
        "total": "current_score__total",
        "tier": "current_score__tier",
        "gate_passed": "current_score__gate_passed",
        "provisional": "current_score__provisional",
        "confidence": "current_score__confidence",
        "rubric_version": "current_score__rubric_version",
        "computed_at": "current_score__computed_at",
    },
)
_WRITE_ERRORS = errors(400, 409)


@extend_schema_view(
    list=extend_schema(
        summary=_("Initiatives of your banks"),
        description=_(
            "Filter by pillar, status, bank, partner, scenario type, tier, score range and change time; search "
            "(Chinese or English) in title, code, description, bank and partner names; order by updated_at, "
            "title, code, created_at or score_total (the current total; unscored initiatives count as -1)."
        ),
    ),
    retrieve=extend_schema(summary=_("An initiative")),
    create=extend_schema(
        summary=_("Record an initiative"),
        description=_("Needs the analyst role in the bank. Partners and scenario types are given by key."),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: SavedInitiativeSerializer, **_WRITE_ERRORS, **IDEMPOTENCY_RESPONSES},
    ),
    update=extend_schema(
        summary=_("Replace an initiative"),
        description=_("Moving it to another bank needs the analyst role in both banks."),
        responses={200: SavedInitiativeSerializer, **_WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of an initiative"),
        description=_("Partners and scenario types, when given, replace the current lists."),
        responses={200: SavedInitiativeSerializer, **_WRITE_ERRORS},
    ),
    destroy=extend_schema(summary=_("Delete an initiative"), responses={204: None, **errors(409)}),
)
class ScoredInitiativeViewSet(InitiativeChecklistMixin, InitiativeViewSet):
    serializer_class = ScoredInitiativeSerializer
    filterset_class = ScoredInitiativeFilter
    ordering_fields = [*InitiativeViewSet.ordering_fields, "score_total"]
    action_roles = {"score": "analyst"}
    action_throttles = {"score": SCORING_THROTTLE}
    action_cursor_ordering = {"scores": ("-computed_at", "-id")}

    reader = InitiativeReader(
        ScoredInitiativeSerializer,
        nested={"current_score": CURRENT_SCORE_COLUMNS},
        extra_columns=(
            "score_total",
        ),  # a cursor page ordered by score_total reads its position from the row
    )

    @staticmethod
    def _score_total():
        return Coalesce(
            F("current_score__total"),
            Value(Decimal("-1")),
            output_field=DecimalField(max_digits=4, decimal_places=1),
        )

    def reader_rows(self):
        return super().reader_rows().annotate(score_total=self._score_total())

    def base_queryset(self):
        if self.action in ("score", "scores"):
            return Initiative.objects.all()
        if self.action in self.reader_actions:
            return super().base_queryset()  # the reader's values rows, score_total included (reader_rows)
        return (
            super().base_queryset().select_related("current_score").annotate(score_total=self._score_total())
        )

    @extend_schema(
        summary=_("Ask for a score"),
        description=_(
            "Queues a score job for the initiative (analyst role) and answers 202 at once, with the job and a "
            "Location header to poll. 409 when the pillar has no published rubric."
        ),
        request=ScoreRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: ScoreJobSerializer, **errors(409), **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def score(self, request, pk=None):
        initiative = self.get_object()
        serializer = ScoreRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        job = score_job_request(
            user=request.user,
            initiative_ids=[initiative.pk],
            rubric_version=serializer.validated_data.get("rubric_version"),
        )
        return accepted_job(request, job)

    @extend_schema(
        summary=_("Score history"),
        description=_("Every score of the initiative, newest first, with its breakdown per criterion."),
        responses={200: ScoreSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def scores(self, request, pk=None):
        initiative = self.get_object()
        scores = Score.objects.filter(initiative=initiative).select_related("rubric_version__rubric")
        page = self.paginate_queryset(scores.order_by("-computed_at", "-id"))
        return self.get_paginated_response(ScoreSerializer(page, many=True).data)


# --- Assessments ---------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary=_("Assessments of your banks' initiatives")),
    retrieve=extend_schema(summary=_("An assessment with its ratings")),
)
class AssessmentViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AssessmentSerializer
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = AssessmentFilter
    ordering_fields = ["updated_at", "created_at", "id"]
    ordering = ["-updated_at"]
    action_roles = {"approve": "manager"}

    def base_queryset(self):
        ratings = Rating.objects.select_related("criterion").order_by("criterion__position", "criterion__key")
        return Assessment.objects.select_related(
            "initiative", "author", "approved_by", "returned_by"
        ).prefetch_related(Prefetch("ratings", queryset=ratings))

    def _out(self, assessment: Assessment) -> dict:
        return AssessmentSerializer(
            self.get_queryset().get(pk=assessment.pk), context=self.get_serializer_context()
        ).data

    @extend_schema(
        summary=_("Start an assessment"),
        description=_(
            "A draft for an initiative of a bank where you are an analyst, against the published rubric of its "
            "pillar (or the published version given), optionally with first ratings."
        ),
        request=AssessmentCreateSerializer,
        responses={201: AssessmentSerializer, **errors(409)},
    )
    def create(self, request, *args, **kwargs):
        serializer = AssessmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assessment = assessment_create(
            user=request.user,
            initiative=data["initiative"],
            rubric_version=data.get("rubric_version"),
            note=data.get("note", ""),
            ratings=data.get("ratings"),
        )
        headers = {"Location": self.reverse_action("detail", args=[assessment.pk])}
        return Response(self._out(assessment), status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        methods=["GET"],
        summary=_("The ratings of an assessment"),
        responses={200: RatingSerializer(many=True)},
    )
    @extend_schema(
        methods=["PUT", "PATCH"],
        summary=_("Rate criteria of a draft"),
        description=_(
            "Upserts the ratings sent (analyst role); the others keep their values. Computed criteria cannot be "
            "rated. 409 when the assessment is no longer a draft."
        ),
        request=RatingsWriteSerializer,
        responses={200: RatingSerializer(many=True), **errors(409)},
    )
    @action(detail=True, methods=["get", "put", "patch"], filter_backends=[], pagination_class=None)
    def ratings(self, request, pk=None):
        assessment = self.get_object()
        if request.method != "GET":
            serializer = RatingsWriteSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            assessment_set_ratings(
                user=request.user, assessment=assessment, ratings=serializer.validated_data["ratings"]
            )
        ratings = Rating.objects.filter(assessment=assessment).select_related("criterion")
        return Response(
            RatingSerializer(ratings.order_by("criterion__position", "criterion__key"), many=True).data
        )

    @extend_schema(
        summary=_("Submit a draft for approval"),
        request=None,
        responses={200: AssessmentSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def submit(self, request, pk=None):
        assessment = self.get_object()
        assessment_submit(user=request.user, assessment=assessment)
        return Response(self._out(assessment))

    @extend_schema(
        summary=_("Return a submitted assessment to draft"),
        description=_(
            "A manager of the bank, or the author, sends it back with a reason; its ratings can then change "
            "again. 409 unless it is submitted."
        ),
        request=ReturnRequestSerializer,
        responses={200: AssessmentSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"], url_path="return", filter_backends=[])
    def return_to_draft(self, request, pk=None):
        assessment = self.get_object()
        serializer = ReturnRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment_return(
            user=request.user, assessment=assessment, reason=serializer.validated_data["reason"]
        )
        return Response(self._out(assessment))

    @extend_schema(
        summary=_("Approve a submitted assessment"),
        description=_(
            "A manager of the bank who is neither the author nor one of its raters approves (403 otherwise: four "
            "eyes); of concurrent approvals one succeeds and the others get 409. The initiative is then re-scored "
            "by a queued job."
        ),
        request=None,
        responses={200: ApproveResultSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request, pk=None):
        assessment = self.get_object()
        assessment, job = assessment_approve(user=request.user, assessment=assessment)
        return Response(
            {"assessment": self._out(assessment), "score_job": ScoreJobSerializer(job).data},
            headers={"Location": job_location(request, job)},
        )


# --- Rubrics -------------------------------------------------------------------------------------------
class RubricAccessMixin(ApiViewMixin):
    """Every signed-in user reads rubrics; the rubric services let only superusers change them (403)."""

    permission_classes = [IsAuthenticated]


@extend_schema_view(
    list=extend_schema(summary=_("Rubrics"), description=_("One per pillar, with their versions.")),
    retrieve=extend_schema(summary=_("A rubric")),
)
class RubricViewSet(RubricAccessMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RubricSerializer

    def base_queryset(self):
        versions = RubricVersion.objects.order_by("-number")
        return Rubric.objects.prefetch_related(Prefetch("versions", queryset=versions)).order_by(
            "pillar_id", "code"
        )


_IMMUTABLE = errors(409)


@extend_schema_view(
    list=extend_schema(summary=_("Rubric versions with their criteria")),
    retrieve=extend_schema(summary=_("A rubric version with its criteria")),
    update=extend_schema(
        summary=_("Change a draft version (superusers)"),
        description=_("A published or retired version never changes: 409."),
        responses={200: RubricVersionSerializer, **_IMMUTABLE},
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a draft version (superusers)"),
        description=_("A published or retired version never changes: 409."),
        responses={200: RubricVersionSerializer, **_IMMUTABLE},
    ),
)
class RubricVersionViewSet(
    RubricAccessMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RubricVersionSerializer
    filter_backends = [ApiFilterBackend]
    filterset_class = RubricVersionFilter

    def base_queryset(self):
        criteria = Criterion.objects.order_by("position", "key")
        return (
            RubricVersion.objects.select_related("rubric")
            .prefetch_related(Prefetch("criteria", queryset=criteria))
            .order_by("rubric__code", "-number")
        )

    def perform_update(self, serializer):
        serializer.instance = rubric_version_update(
            user=self.request.user, version=serializer.instance, data=serializer.validated_data
        )

    @extend_schema(
        summary=_("Publish a draft (superusers)"),
        description=_(
            "Retires the version it replaces and queues the re-scoring of the pillar's initiatives. 409 with the "
            "problems when the draft is not ready."
        ),
        request=None,
        responses={200: PublishResultSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def publish(self, request, pk=None):
        version = self.get_object()
        job = rubric_version_publish(version, user=request.user)
        version = self.get_queryset().get(pk=version.pk)
        return Response(
            {
                "version": RubricVersionSerializer(version, context=self.get_serializer_context()).data,
                "score_job": ScoreJobSerializer(job).data if job is not None else None,
            }
        )

    @extend_schema(
        summary=_("Clone into a new draft (superusers)"),
        request=None,
        responses={201: RubricVersionSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def clone(self, request, pk=None):
        draft = rubric_version_clone(self.get_object(), user=request.user)
        data = RubricVersionSerializer(
            self.get_queryset().get(pk=draft.pk), context=self.get_serializer_context()
        ).data
        return Response(
            data,
            status=status.HTTP_201_CREATED,
            headers={"Location": self.reverse_action("detail", args=[draft.pk])},
        )


@extend_schema_view(
    list=extend_schema(summary=_("Criteria")),
    retrieve=extend_schema(summary=_("A criterion")),
    update=extend_schema(
        summary=_("Change a criterion of a draft (superusers)"),
        responses={200: CriterionSerializer, **_IMMUTABLE},
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a criterion of a draft (superusers)"),
        responses={200: CriterionSerializer, **_IMMUTABLE},
    ),
)
class CriterionViewSet(
    RubricAccessMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CriterionSerializer
    filter_backends = [ApiFilterBackend]
    filterset_class = CriterionFilter

    def base_queryset(self):
        return Criterion.objects.order_by("version_id", "position", "key")

    def perform_update(self, serializer):
        serializer.instance = criterion_update(
            user=self.request.user, criterion=serializer.instance, data=serializer.validated_data
        )


# --- Score jobs and preview ----------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary=_("Score jobs of your banks")),
    retrieve=extend_schema(
        summary=_("A score job"),
        description=_(
            "status: queued | running | succeeded | failed, with counts and the error; once finished, the "
            "current score of each of its initiatives."
        ),
        responses={200: ScoreJobDetailSerializer},
    ),
)
class ScoreJobViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ScoreJobSerializer
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = ScoreJobFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    action_throttles = {"create": SCORING_THROTTLE}

    def base_queryset(self):
        return ScoreJob.objects.select_related("requested_by")

    def retrieve(self, request, *args, **kwargs):
        job = self.get_object()
        scores = CurrentScore.objects.none()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            scores = scope_queryset(CurrentScore.objects.all(), request.user)
            if job.initiative_ids is not None:
                scores = scores.filter(initiative_id__in=job.initiative_ids[:JOB_SCORES_LIMIT])
            else:
                scores = scores.filter(score__job_id=job.pk)
        context = {
            **self.get_serializer_context(),
            "job_scores": list(scores.order_by("initiative_id")[:JOB_SCORES_LIMIT]),
        }
        return Response(ScoreJobDetailSerializer(job, context=context).data)

    @extend_schema(
        summary=_("Score several initiatives"),
        description=_(
            "All must be initiatives of one bank where you are an analyst (superusers: any); otherwise 400 "
            "names the ids. Answers 202 with the job and a Location header to poll."
        ),
        request=ScoreJobCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: ScoreJobSerializer, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = ScoreJobCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = score_job_request(
            user=request.user, initiative_ids=data["initiatives"], rubric_version=data.get("rubric_version")
        )
        return accepted_job(request, job)


class ScorePreviewView(ThrottleRefusalsMixin, APIView):
    """What-if: the score for given ratings, computed at once and stored nowhere."""

    permission_classes = [IsAuthenticated]
    throttle_scope = SCORING_THROTTLE

    @extend_schema(
        summary=_("Preview a score (what-if)"),
        description=_(
            "Give a rubric_version, or a pillar (its published rubric), or an initiative (its pillar's); ratings "
            "as {criterion: value} or [{criterion, value, rationale}]. With an initiative, computed criteria "
            "come from its data unless you rate them. Nothing is stored."
        ),
        request=PreviewRequestSerializer,
        responses={200: PreviewResultSerializer, **errors(409)},
        tags=["scoring"],
    )
    def post(self, request):
        serializer = PreviewRequestSerializer(data=request.data, context={"request": request, "view": self})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = score_preview(
            user=request.user,
            ratings=data.get("ratings") or [],
            rubric_version=data.get("rubric_version"),
            pillar=data.get("pillar"),
            initiative=data.get("initiative"),
        )
        return Response(result)


# --- Reports -------------------------------------------------------------------------------------------
# The hooks between the API and the reports package (scoring.reports): which reports a user may read and the
# files of one. Imported lazily, so the rest of the API loads even while reports are being reworked.
def report_queryset():
    from ..reports.services import report_list

    return report_list()


def report_file(report, fmt: str) -> tuple[bytes, str]:
    from ..reports.export import report_csv, report_filename, report_xlsx

    content = report_csv(report) if fmt == "csv" else report_xlsx(report)
    return content, report_filename(report, fmt)


class _QueryFormatSettings:
    """DRF settings as they are, except that ``?format=`` names the download's file format, not a renderer."""

    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name):
        return getattr(api_settings, name)


class QueryFormatNegotiation(DefaultContentNegotiation):
    settings = _QueryFormatSettings()


DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@extend_schema_view(
    list=extend_schema(
        summary=_("Portfolio reports"),
        description=_(
            "The reports of your banks (superusers: also the reports across all banks), newest period first."
        ),
    ),
    retrieve=extend_schema(summary=_("A report, with its data and rendered page")),
)
class ReportViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReportSerializer
    content_negotiation_class = QueryFormatNegotiation
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = ReportFilter
    ordering_fields = ["period_start", "created_at", "id"]
    ordering = ["-period_start"]

    def base_queryset(self):
        return report_queryset()

    def get_serializer_class(self):
        return ReportDetailSerializer if self.action == "retrieve" else ReportSerializer

    @extend_schema(
        summary=_("Download a report"),
        description=_("CSV (UTF-8 with BOM) or XLSX of a ready report; 409 while it is not ready."),
        parameters=[
            OpenApiParameter(
                "format",
                str,
                OpenApiParameter.QUERY,
                enum=[*DOWNLOAD_TYPES],
                description=_("csv (default) or xlsx"),
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The report as CSV.")),
            (200, DOWNLOAD_TYPES["xlsx"]): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("The report as XLSX.")
            ),
            **errors(400, 409),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def download(self, request, pk=None):
        fmt = request.query_params.get("format", "csv")  # "" is no format: 400, as the enum says
        if fmt not in DOWNLOAD_TYPES:
            raise serializers.ValidationError({"format": [_("Choose csv or xlsx.")]})
        report = self.get_object()
        if report.status != report.Status.READY:
            raise Conflict(
                _("The report is not ready yet (%(status)s).") % {"status": report.get_status_display()}
            )
        content, filename = report_file(report, fmt)
        response = HttpResponse(content, content_type=DOWNLOAD_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
