"""Viewsets of the partnerships API. ``ApiViewMixin`` scopes every queryset to the user's banks (one place for the
API's tenancy); writes go through the services, which check every rule themselves.

``InitiativeViewSet`` is complete without scoring; ``scoring.api.views.ScoredInitiativeViewSet`` extends it with
the current score, score filters and the scoring actions, and is the one the router serves.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.utils.decorators import method_decorator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from config.api_errors import error_response

from ..choices import EvidenceKind
from ..downloads import evidence_response
from ..models import (
    KPI,
    Bank,
    Evidence,
    Initiative,
    InitiativePartner,
    KPIObservation,
    PartnerDueDiligence,
    PartnerLicence,
    PartnerMetric,
    Pillar,
    ScenarioType,
    TechPartner,
)
from ..services.evidence import evidence_create, evidence_delete, evidence_open, evidence_update
from ..services.exposure import bank_profile_update
from ..services.initiatives import initiative_create, initiative_delete, initiative_update
from ..services.kpis import (
    kpi_create,
    kpi_delete,
    kpi_update,
    observation_create,
    observation_delete,
    observation_update,
)
from ..services.partners import due_diligence_create, due_diligence_update
from ..tenancy import scope_queryset
from .filters import (
    ApiFilterBackend,
    ApiSearchFilter,
    DueDiligenceFilter,
    EvidenceFilter,
    InitiativeFilter,
    KPIFilter,
    KPIObservationFilter,
    StrictOrderingFilter,
    TechPartnerFilter,
)
from .idempotency import idempotent
from .limits import bank_limits, bank_limits_schema
from .parsers import JSONParser, MultiPartParser
from .permissions import BankRolePermission
from .readers import InitiativeReader
from .serializers import (
    BankProfileSerializer,
    BankSerializer,
    EvidenceChangeSerializer,
    EvidenceLinkCreateSerializer,
    EvidenceSerializer,
    EvidenceUploadSerializer,
    InitiativeSerializer,
    KPIObservationRecordSerializer,
    KPISerializer,
    PartnerDueDiligenceSerializer,
    PillarSerializer,
    TechPartnerSerializer,
)

INITIATIVE_SEARCH_FIELDS = [
    "title",
    "code",
    "description",
    "bank__name_zh_hans",
    "bank__name_en",
    "bank__code",
    "partners__name_zh_hans",
    "partners__name_en",
    "partners__key",
]


class ThrottleRefusalsMixin:
    """Throttle anonymous callers and wrong tokens too.

    DRF checks throttles after authentication and permissions, so a request refused with 401 would never be
    counted — token guessing would be unlimited. Refusals are counted (per address) before they are answered.
    """

    def perform_authentication(self, request):
        try:
            super().perform_authentication(request)
        except AuthenticationFailed:
            self.check_throttles(request)
            raise

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            self.check_throttles(request)
        super().permission_denied(request, message=message, code=code)


class ApiViewMixin(ThrottleRefusalsMixin):
    """What every API viewset shares: signed-in users, bank-role checks, cursor order, throttle scopes.

    ``base_queryset()`` names the rows a viewset serves; ``get_queryset`` scopes it to the banks the user
    belongs to (``partnerships.tenancy``) whenever its model is a tenant model, so no viewset filters by bank
    itself. ``write_role`` is the role unsafe methods need; ``action_roles`` overrides it per action (approve:
    manager); ``action_throttles`` gives actions a throttle scope of their own (scoring requests);
    ``cursor_ordering`` and ``action_cursor_ordering`` order cursor pages where no ordering filter applies.
    """

    permission_classes = [IsAuthenticated, BankRolePermission]
    write_role = "analyst"
    action_roles: dict[str, str] = {}
    action_throttles: dict[str, str] = {}
    cursor_ordering: tuple[str, ...] = ("-id",)
    action_cursor_ordering: dict[str, tuple[str, ...]] = {}

    @property
    def throttle_scope(self) -> str | None:
        return self.action_throttles.get(getattr(self, "action", None))

    def base_queryset(self):
        raise NotImplementedError(f"{type(self).__name__} names its rows in base_queryset()")

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(queryset.model, "TENANT_BANK_PATH", None) is None:
            return queryset  # reference data shared by every bank: partners, pillars, rubrics
        return scope_queryset(queryset, self.request.user)

    # Reads outside a transaction, writes inside one. ATOMIC_REQUESTS would wrap every request, reads too, in
    # BEGIN … COMMIT: two round trips a read for nothing. Writes keep exactly what ATOMIC_REQUESTS gave them:
    # one transaction for the whole request, rolled back by DRF's handler (set_rollback) on any error answer.
    # The error handler rolls back only the transaction the view opened (``atomic_request``, config.api_errors).
    @method_decorator(transaction.non_atomic_requests)
    def dispatch(self, request, *args, **kwargs):
        self.atomic_request = request.method not in SAFE_METHODS
        if not self.atomic_request:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        # List filters, search and ordering select and order lists; an object named by its URL is found (or
        # not) whatever the query string says, without building a FilterSet for it.
        if getattr(self, "action", None) == "list":
            return super().filter_queryset(queryset)
        return queryset

    def get_cursor_ordering(self, request, queryset) -> tuple[str, ...]:
        action = getattr(self, "action", None)
        if action in self.action_cursor_ordering:
            return self.action_cursor_ordering[action]
        if action == "list":
            for backend in getattr(self, "filter_backends", []):
                if hasattr(backend, "get_ordering"):
                    ordering = backend().get_ordering(request, queryset, self)
                    if ordering:
                        return tuple(ordering)
        return self.cursor_ordering


@extend_schema_view(
    list=extend_schema(
        summary=_("Your banks"), description=_("The banks you belong to, with your role in each.")
    ),
    retrieve=extend_schema(summary=_("A bank")),
)
class BankViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BankSerializer
    filter_backends = [ApiSearchFilter, StrictOrderingFilter]
    search_fields = ["code", "name_zh_hans", "name_en"]
    ordering_fields = ["code", "id"]
    ordering = ["code"]
    action_roles = {"partial_update": "manager"}

    def base_queryset(self):
        return Bank.objects.all()

    @extend_schema(
        summary=_("Change a bank's lending profile"),
        description=_(
            "Bank type, home region and early-warning level, which the joint-lending limits read. Managers of "
            "the bank (and superusers) only; the bank's code and names are not changed here."
        ),
        request=BankProfileSerializer,
        responses={200: BankSerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        bank = self.get_object()
        serializer = BankProfileSerializer(bank, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        bank = bank_profile_update(user=request.user, bank=bank, data=serializer.validated_data)
        return Response(self.get_serializer(bank).data)

    @bank_limits_schema
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def limits(self, request, pk=None):
        """Current utilisation of the bank's joint-lending limits (partnerships.api.limits)."""
        return bank_limits(request, self.get_object())


@extend_schema_view(
    list=extend_schema(
        summary=_("Tech partners"),
        description=_(
            "The partner register, shared by every bank: each partner's kind, related-party group, licences "
            "and figures (the listed platforms' figures are the seed report's; illustrative partners are invented "
            "for the demo)."
        ),
    ),
    retrieve=extend_schema(summary=_("A tech partner, by key")),
)
class TechPartnerViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TechPartnerSerializer
    lookup_field = "key"
    filter_backends = [ApiFilterBackend, ApiSearchFilter, StrictOrderingFilter]
    filterset_class = TechPartnerFilter
    search_fields = ["key", "name_zh_hans", "name_en", "ticker"]
    ordering_fields = ["key", "id"]
    ordering = ["key"]

    def base_queryset(self):
        metrics = PartnerMetric.objects.order_by("metric", "segment", "-period_end")
        licences = PartnerLicence.objects.order_by("licence_type", "valid_until", "id")
        return TechPartner.objects.prefetch_related(
            Prefetch("licences", queryset=licences), Prefetch("metrics", queryset=metrics)
        )


@extend_schema_view(
    list=extend_schema(summary=_("Pillars and their scenario types")),
    retrieve=extend_schema(summary=_("A pillar, by key")),
)
class PillarViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PillarSerializer
    lookup_field = "key"
    pagination_class = None  # three rows, fixed by the seed

    def base_queryset(self):
        types = ScenarioType.objects.order_by("position", "key")
        return Pillar.objects.prefetch_related(Prefetch("scenario_types", queryset=types))


class InitiativeViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Initiatives of your banks. Reads need the viewer role, writes the analyst role in the initiative's bank."""

    serializer_class = InitiativeSerializer
    filter_backends = [ApiFilterBackend, ApiSearchFilter, StrictOrderingFilter]
    filterset_class = InitiativeFilter
    search_fields = INITIATIVE_SEARCH_FIELDS
    ordering_fields = ["updated_at", "title", "code", "created_at", "id"]
    ordering = ["-updated_at"]
    # Lists and details are read by the reader (values rows, the serializer's own field formatting); every
    # other action, the browsable API's forms and the schema use the serializer.
    reader = InitiativeReader(InitiativeSerializer)
    reader_actions = ("list", "retrieve")

    def reader_rows(self):
        """The initiatives the reader reads, with any annotation it shows, before ``values()`` (no request here:
        the reader resolves this once per process, ``InitiativeReader.template``)."""
        return Initiative.objects.all()

    def base_queryset(self):
        if self.action in self.reader_actions:
            # values rows: the reader names its own columns and joins; get_queryset scopes them to the user
            return self.reader.template(self.reader_rows)
        links = InitiativePartner.objects.select_related("partner").order_by("role", "partner__key")
        return Initiative.objects.select_related("bank", "pillar", "owner").prefetch_related(
            Prefetch("partner_links", queryset=links),
            Prefetch("scenario_types", queryset=ScenarioType.objects.order_by("position", "key")),
        )

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())  # values rows already (base_queryset)
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(self.reader.represent(queryset))
        return self.get_paginated_response(self.reader.represent(page))

    def retrieve(self, request, *args, **kwargs):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        row = get_object_or_404(self.get_queryset(), **{self.lookup_field: lookup})
        self.check_object_permissions(request, row)
        return Response(self.reader.represent([row])[0])

    def _reloaded(self, initiative: Initiative) -> Initiative:
        return self.get_queryset().get(pk=initiative.pk)

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        initiative = initiative_create(user=request.user, data=serializer.validated_data)
        data = self.get_serializer(self._reloaded(initiative)).data
        data["warnings"] = getattr(initiative, "warnings", [])  # prohibited or restricted scenario types
        headers = {"Location": self.reverse_action("detail", args=[initiative.pk])}
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        initiative = initiative_update(user=request.user, initiative=instance, data=serializer.validated_data)
        data = self.get_serializer(self._reloaded(initiative)).data
        data["warnings"] = getattr(initiative, "warnings", [])  # prohibited or restricted scenario types
        return Response(data)

    def perform_destroy(self, instance):
        initiative_delete(user=self.request.user, initiative=instance)


_KPI_WRITE = _(
    "Analyst role in the initiative's bank. The rules are the admin's: a name unique within the initiative, a "
    "target other than the baseline, a positive weight, a target date after the baseline date. A refused request "
    "answers 400 with the messages by field and writes nothing."
)


@extend_schema_view(
    list=extend_schema(
        summary=_("KPIs of your banks' initiatives"),
        description=_(
            "Each with its baseline, target and observations (newest first). Observations are written at "
            "/api/v1/kpi-observations/."
        ),
    ),
    retrieve=extend_schema(summary=_("A KPI with its observations")),
    create=extend_schema(
        summary=_("Record a KPI of an initiative"),
        description=_KPI_WRITE,
        responses={201: KPISerializer},
    ),
    update=extend_schema(
        summary=_("Replace a KPI"),
        description=format_lazy(
            "{} {}",
            _KPI_WRITE,
            _("Optional fields left out keep their values; naming another initiative moves the KPI there."),
        ),
    ),
    partial_update=extend_schema(summary=_("Change some fields of a KPI"), description=_KPI_WRITE),
    destroy=extend_schema(
        summary=_("Delete a KPI"),
        description=_("With its observations. Analyst role in the initiative's bank."),
        responses={204: None},
    ),
)
class KPIViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = KPISerializer
    parser_classes = [JSONParser]  # JSON bodies only
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = KPIFilter
    ordering_fields = ["id", "name"]
    ordering = ["id"]

    def base_queryset(self):
        observations = KPIObservation.objects.order_by("-observed_on")
        return KPI.objects.select_related("initiative").prefetch_related(
            Prefetch("observations", queryset=observations)
        )

    def _reloaded(self, kpi: KPI) -> KPI:
        return self.get_queryset().get(pk=kpi.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        kpi = kpi_create(user=request.user, initiative=data.pop("initiative"), data=data)
        headers = {"Location": self.reverse_action("detail", args=[kpi.pk])}
        return Response(
            self.get_serializer(self._reloaded(kpi)).data, status=status.HTTP_201_CREATED, headers=headers
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        kpi = kpi_update(user=request.user, kpi=instance, data=dict(serializer.validated_data))
        return Response(self.get_serializer(self._reloaded(kpi)).data)

    def perform_destroy(self, instance):
        kpi_delete(user=self.request.user, kpi=instance)


_OBSERVATION_WRITE = _(
    "Analyst role in the bank of the KPI's initiative; one observation a date per KPI. A refused request "
    "answers 400 with the messages by field and writes nothing."
)
_STAYS = _("An observation stays with its KPI: a different kpi answers 400.")


@extend_schema_view(
    list=extend_schema(
        summary=_("Observations of your banks' KPIs"),
        description=_(
            "A flat resource: each observation names its KPI (and, read-only, the KPI's initiative). Filter by "
            "kpi, initiative and date (observed_since, observed_until, inclusive); newest first."
        ),
    ),
    retrieve=extend_schema(summary=_("A KPI observation")),
    create=extend_schema(
        summary=_("Record a KPI's value on a date"),
        description=_OBSERVATION_WRITE,
        responses={201: KPIObservationRecordSerializer},
    ),
    update=extend_schema(
        summary=_("Replace an observation's date, value and note"),
        description=format_lazy("{} {}", _OBSERVATION_WRITE, _STAYS),
    ),
    partial_update=extend_schema(
        summary=_("Change an observation"),
        description=format_lazy("{} {}", _OBSERVATION_WRITE, _STAYS),
    ),
    destroy=extend_schema(
        summary=_("Delete an observation"),
        description=_("Analyst role in the bank of the KPI's initiative."),
        responses={204: None},
    ),
)
class KPIObservationViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = KPIObservationRecordSerializer
    parser_classes = [JSONParser]  # JSON bodies only
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = KPIObservationFilter
    ordering_fields = ["observed_on", "id"]
    ordering = ["-observed_on"]

    def base_queryset(self):
        return KPIObservation.objects.select_related("kpi__initiative")

    def _reloaded(self, observation: KPIObservation) -> KPIObservation:
        return self.get_queryset().get(pk=observation.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        observation = observation_create(user=request.user, kpi=data.pop("kpi"), data=data)
        headers = {"Location": self.reverse_action("detail", args=[observation.pk])}
        data = self.get_serializer(self._reloaded(observation)).data
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        observation = observation_update(user=request.user, observation=instance, data=data)
        return Response(self.get_serializer(self._reloaded(observation)).data)

    def perform_destroy(self, instance):
        observation_delete(user=self.request.user, observation=instance)


_EVIDENCE_RULES = _(
    "Analyst role in the initiative's bank. The checks are the admin's; a refused request answers 400 with the "
    "messages by field and stores nothing."
)


@extend_schema_view(
    list=extend_schema(
        summary=_("Evidence of your banks' initiatives"),
        description=_("Files and links behind the ratings; a file is read through its download address."),
    ),
    retrieve=extend_schema(summary=_("A piece of evidence")),
    create=extend_schema(
        summary=_("Record a link as evidence"),
        description=format_lazy(
            "{} {}",
            _("A link (JSON). To record a file, POST it to /api/v1/evidence/upload/ instead."),
            _EVIDENCE_RULES,
        ),
        request=EvidenceLinkCreateSerializer,
        responses={201: EvidenceSerializer},
    ),
    partial_update=extend_schema(
        summary=_("Change a piece of evidence's note or link"),
        description=format_lazy(
            "{} {}",
            _(
                "The note, and a link's address. A stored file is never replaced (record new evidence "
                "instead), and evidence does not move between initiatives."
            ),
            _EVIDENCE_RULES,
        ),
        request=EvidenceChangeSerializer,
        responses={200: EvidenceSerializer},
    ),
    destroy=extend_schema(
        summary=_("Delete a piece of evidence"),
        description=_("The record, and its stored file once the deletion is committed. Analyst role."),
        responses={204: None},
    ),
)
class EvidenceViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Evidence: link by JSON, file by multipart upload, PATCH of its metadata (no PUT), delete, download."""

    serializer_class = EvidenceSerializer
    parser_classes = [JSONParser]  # JSON bodies only; the upload action alone takes multipart
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = EvidenceFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]

    def base_queryset(self):
        return Evidence.objects.select_related("uploaded_by", "initiative")

    def _created(self, request, data: dict) -> Response:
        evidence = evidence_create(user=request.user, initiative=data.pop("initiative"), data=data)
        evidence = self.get_queryset().get(pk=evidence.pk)
        headers = {"Location": self.reverse_action("detail", args=[evidence.pk])}
        return Response(self.get_serializer(evidence).data, status=status.HTTP_201_CREATED, headers=headers)

    def create(self, request, *args, **kwargs):
        serializer = EvidenceLinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._created(request, {**serializer.validated_data, "kind": EvidenceKind.LINK})

    @extend_schema(
        summary=_("Upload a file as evidence"),
        description=format_lazy(
            "{} {}",
            _(
                "multipart/form-data with the file and its fields. The file's size and type are checked as in "
                "the admin: the allowed extensions, the content matching the extension, the size limit (a "
                "larger file answers 400 on the field file; a request body beyond the upload limit answers 413)."
            ),
            _EVIDENCE_RULES,
        ),
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={
            201: EvidenceSerializer,
            415: error_response(415, _("Send multipart/form-data: the file and its fields.")),
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser], filter_backends=[])
    def upload(self, request):
        serializer = EvidenceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._created(request, {**serializer.validated_data, "kind": EvidenceKind.FILE})

    def partial_update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = EvidenceChangeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        evidence_update(user=request.user, evidence=instance, data=dict(serializer.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)

    def perform_destroy(self, instance):
        evidence_delete(user=self.request.user, evidence=instance)

    @extend_schema(
        summary=_("Download an evidence file"),
        description=_(
            "The file as it was uploaded, as an attachment; 404 for a link, for another bank's evidence and for "
            "a file missing from storage."
        ),
        # Bytes in any media type (the file's own): octet-stream first, which client generators read as bytes.
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def download(self, request, pk=None):
        return evidence_response(evidence_open(user=request.user, evidence=self.get_object()))


@extend_schema_view(
    list=extend_schema(
        summary=_("Due diligence on partners, by your banks"),
        description=_(
            "Each bank's due-diligence records: answers, inherent-risk tier, when performed and when next due. "
            "Reads need the viewer role, writes the analyst role in the record's bank; records are never deleted."
        ),
    ),
    retrieve=extend_schema(summary=_("A due-diligence record")),
    create=extend_schema(summary=_("Record due diligence on a partner")),
    update=extend_schema(summary=_("Replace a due-diligence record's answers, tier and dates")),
    partial_update=extend_schema(summary=_("Change a due-diligence record")),
)
class PartnerDueDiligenceViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PartnerDueDiligenceSerializer
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = DueDiligenceFilter
    ordering_fields = ["id", "performed_on", "next_due"]
    ordering = ["-performed_on", "-id"]

    def base_queryset(self):
        return PartnerDueDiligence.objects.select_related("partner", "performed_by")

    def _reloaded(self, record: PartnerDueDiligence) -> PartnerDueDiligence:
        return self.get_queryset().get(pk=record.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = due_diligence_create(user=request.user, data=serializer.validated_data)
        headers = {"Location": self.reverse_action("detail", args=[record.pk])}
        data = self.get_serializer(self._reloaded(record)).data
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        record = due_diligence_update(user=request.user, record=instance, data=serializer.validated_data)
        return Response(self.get_serializer(self._reloaded(record)).data)
