"""``/api/v1/monitoring-events/``, ``/api/v1/contracts/`` and ``/api/v1/reassessment-policies/``: the partnership
lifecycle (issue 14, ``docs/lifecycle.md``). Rows are scoped to the user's banks by ``ApiViewMixin``; reads need the
viewer role, writes the analyst role (a policy: the manager role) in the row's bank, and every write goes to
``partnerships.services.lifecycle``, which checks every rule. JSON bodies only.

The texts here are for the OpenAPI schema, which is English only, so they are plain strings, not msgids.
"""

from __future__ import annotations

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from config.api_errors import errors

from ..choices import MonitoringEventKind, MonitoringEventStatus, ReassessmentState, Severity, TriState
from ..lifecycle import reassessment_annotate
from ..models import Initiative, MonitoringEvent, PartnershipContract, ReassessmentPolicy
from ..services.lifecycle import (
    POLICY_ROLE,
    contract_create,
    contract_delete,
    contract_update,
    monitoring_event_create,
    monitoring_event_delete,
    monitoring_event_update,
    reassessment_policy_set,
)
from .filters import ApiFilterBackend, IdFilter, StrictOrderingFilter
from .parsers import JSONParser
from .views import ApiViewMixin


# --- serializers: shapes only; the services hold the rules --------------------------------------------------------
class MonitoringEventSerializer(serializers.ModelSerializer):
    initiative = serializers.IntegerField(
        source="initiative_id", help_text="Id of an initiative of one of your banks (fixed once recorded)."
    )
    kind = serializers.ChoiceField(choices=MonitoringEventKind.choices)
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        help_text="high or critical: the initiative must be re-assessed, and its tier is capped at C until an "
        "assessment is approved after the event was recorded.",
    )
    status = serializers.ChoiceField(choices=MonitoringEventStatus.choices, required=False)
    remediation_owner = serializers.IntegerField(
        source="remediation_owner_id",
        required=False,
        allow_null=True,
        help_text="User id of a member of the initiative's bank.",
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MonitoringEvent
        fields = [
            "id",
            "initiative",
            "kind",
            "occurred_on",
            "severity",
            "description",
            "remediation_owner",
            "remediation_due_on",
            "status",
            "closed_on",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]
        extra_kwargs = {
            "closed_on": {"help_text": "Set to today when the status becomes closed and no date is given."},
            "remediation_due_on": {"help_text": "The remediation deadline."},
        }


class ContractSerializer(serializers.ModelSerializer):
    initiative = serializers.IntegerField(
        source="initiative_id",
        help_text="Id of an initiative of one of your banks (one entry per initiative).",
    )
    auto_renews = serializers.ChoiceField(choices=TriState.choices, required=False)
    critical_function = serializers.ChoiceField(
        choices=TriState.choices,
        required=False,
        help_text="Whether the initiative supports a critical function; unknown counts as yes (a shorter "
        "re-assessment interval).",
    )
    audit_rights = serializers.ChoiceField(choices=TriState.choices, required=False)
    data_return_and_destruction = serializers.ChoiceField(choices=TriState.choices, required=False)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PartnershipContract
        fields = [
            "id",
            "initiative",
            "reference",
            "signed_on",
            "starts_on",
            "ends_on",
            "auto_renews",
            "notice_days",
            "critical_function",
            "audit_rights",
            "data_return_and_destruction",
            "sla_summary",
            "sla_availability_percent",
            "exit_plan",
            "exit_plan_last_tested_on",
            "alternative_provider",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["updated_by", "created_at", "updated_at"]


class PolicySerializer(serializers.ModelSerializer):
    bank = serializers.IntegerField(
        source="bank_id", help_text="The bank's id; you must be one of its managers."
    )

    class Meta:
        model = ReassessmentPolicy
        fields = [
            "id",
            "bank",
            "months_critical",
            "months_a",
            "months_b",
            "months_c",
            "months_d",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class ReassessmentSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(source="pk")
    code = serializers.CharField()
    bank = serializers.IntegerField(source="bank_id")
    last_approved_on = serializers.DateField(allow_null=True)
    next_reassessment_on = serializers.DateField()
    reassessment_state = serializers.ChoiceField(choices=ReassessmentState.choices, allow_null=True)
    reassessment_required = serializers.BooleanField(
        help_text="A high or critical monitoring event was recorded after the last approved assessment."
    )


def _data(serializer, *, rename: dict[str, str]) -> dict:
    data = dict(serializer.validated_data)
    for source, name in rename.items():
        if source in data:
            data[name] = data.pop(source)
    return data


class ServiceWriteMixin(ApiViewMixin):
    """create / update / destroy through the services named by the subclass; answers the row as read back."""

    parser_classes = [JSONParser]
    rename = {"initiative_id": "initiative"}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _data(serializer, rename=self.rename)
        obj = self.service_create(user=request.user, data=data)
        headers = {"Location": self.reverse_action("detail", args=[obj.pk])}
        body = self.get_serializer(self.base_queryset().get(pk=obj.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = self.service_update(request.user, instance, _data(serializer, rename=self.rename))
        return Response(self.get_serializer(self.base_queryset().get(pk=obj.pk)).data)

    def perform_destroy(self, instance):
        self.service_delete(self.request.user, instance)


class MonitoringEventFilter(filters.FilterSet):
    initiative = IdFilter(field_name="initiative_id", label="Initiative id")
    bank = IdFilter(field_name="initiative__bank_id", label="Bank id")
    kind = filters.ChoiceFilter(choices=MonitoringEventKind.choices)
    severity = filters.ChoiceFilter(choices=Severity.choices)
    status = filters.ChoiceFilter(choices=MonitoringEventStatus.choices)

    class Meta:
        model = MonitoringEvent
        fields = ["initiative", "bank", "kind", "severity", "status"]


@extend_schema_view(
    list=extend_schema(summary="Monitoring events of your banks' initiatives"),
    retrieve=extend_schema(summary="A monitoring event"),
    create=extend_schema(
        summary="Record a monitoring event",
        description="An incident, customer complaint, regulatory finding, data breach or partner licence change, "
        "with its remediation. A high or critical one marks the initiative 're-assessment required' and caps its "
        "tier at C until an assessment is approved after it (the initiative is scored again at once). Emits the "
        "webhook event monitoring_event.created. Analyst role in the initiative's bank.",
        responses={201: MonitoringEventSerializer, **errors(400, 403)},
    ),
    update=extend_schema(summary="Replace a monitoring event"),
    partial_update=extend_schema(
        summary="Change a monitoring event",
        description='E.g. {"status": "closed"} (closed_on: today). Closing does not lift the tier cap; an '
        "approved assessment does.",
    ),
    destroy=extend_schema(summary="Delete a monitoring event", responses={204: None}),
)
class MonitoringEventViewSet(ServiceWriteMixin, viewsets.ModelViewSet):
    serializer_class = MonitoringEventSerializer
    filterset_class = MonitoringEventFilter
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    ordering_fields = ["occurred_on", "remediation_due_on", "id"]
    ordering = ["-occurred_on", "-id"]
    rename = {"initiative_id": "initiative", "remediation_owner_id": "remediation_owner"}

    def base_queryset(self):
        return MonitoringEvent.objects.select_related("created_by")

    @staticmethod
    def service_create(*, user, data):
        return monitoring_event_create(user=user, initiative=data.pop("initiative", None), data=data)

    @staticmethod
    def service_update(user, instance, data):
        return monitoring_event_update(user=user, event=instance, data=data)

    @staticmethod
    def service_delete(user, instance):
        monitoring_event_delete(user=user, event=instance)


class ContractFilter(filters.FilterSet):
    initiative = IdFilter(field_name="initiative_id", label="Initiative id")
    bank = IdFilter(field_name="initiative__bank_id", label="Bank id")

    class Meta:
        model = PartnershipContract
        fields = ["initiative", "bank"]


@extend_schema_view(
    list=extend_schema(summary="The contract and exit register of your banks' initiatives"),
    retrieve=extend_schema(summary="A contract and exit register entry"),
    create=extend_schema(
        summary="Record an initiative's contract and exit register entry",
        description="One per initiative. Exit readiness is capped by it (no exit plan 0, never tested 1, tested "
        "more than two years ago 2, within two years 3, plus data return and destruction terms and a named "
        "alternative provider 4; unknown counts as no); an initiative with no entry is capped at 0. Analyst role.",
        responses={201: ContractSerializer, **errors(400, 403)},
    ),
    update=extend_schema(summary="Replace a contract register entry"),
    partial_update=extend_schema(summary="Change a contract register entry"),
    destroy=extend_schema(summary="Delete a contract register entry", responses={204: None}),
)
class ContractViewSet(ServiceWriteMixin, viewsets.ModelViewSet):
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    ordering_fields = ["ends_on", "exit_plan_last_tested_on", "id"]
    ordering = ["id"]

    def base_queryset(self):
        return PartnershipContract.objects.select_related("updated_by")

    @staticmethod
    def service_create(*, user, data):
        return contract_create(user=user, initiative=data.pop("initiative", None), data=data)

    @staticmethod
    def service_update(user, instance, data):
        return contract_update(user=user, contract=instance, data=data)

    @staticmethod
    def service_delete(user, instance):
        contract_delete(user=user, contract=instance)


@extend_schema_view(
    list=extend_schema(
        summary="Re-assessment policies of your banks",
        description="Months between re-assessments by current tier, and for critical initiatives (the shorter of "
        "the two applies). A bank without a policy uses the defaults: critical or D 6, C 12, A and B 24.",
    ),
    retrieve=extend_schema(summary="A re-assessment policy"),
    create=extend_schema(
        summary="Set a bank's re-assessment policy",
        description="Creates or changes the bank's one policy; fields not sent keep their value. Manager role.",
        responses={201: PolicySerializer, **errors(400, 403)},
    ),
    update=extend_schema(summary="Replace a re-assessment policy"),
    partial_update=extend_schema(summary="Change a re-assessment policy"),
)
class ReassessmentPolicyViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PolicySerializer
    write_role = POLICY_ROLE
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id"]
    ordering = ["id"]
    rename = {"bank_id": "bank"}

    def base_queryset(self):
        return ReassessmentPolicy.objects.select_related("bank")

    @staticmethod
    def service_create(*, user, data):
        return reassessment_policy_set(user=user, bank=data.pop("bank", None), data=data)

    @staticmethod
    def service_update(user, instance, data):
        data.pop("bank", None)  # a policy stays with its bank
        return reassessment_policy_set(user=user, bank=instance.bank_id, data=data)


class ReassessmentFilter(filters.FilterSet):
    bank = IdFilter(field_name="bank_id", label="Bank id")
    state = filters.ChoiceFilter(field_name="reassessment_state", choices=ReassessmentState.choices)

    class Meta:
        model = Initiative
        fields = ["bank", "state"]


@extend_schema_view(
    list=extend_schema(
        summary="Next re-assessment dates of your banks' initiatives",
        description="Computed from the last approved assessment, the bank's policy, the current tier, the "
        "contract register's criticality and severe monitoring events (docs/lifecycle.md); retired initiatives "
        "have no state. Filter with ?state=overdue|due|not_due.",
    ),
    retrieve=extend_schema(summary="An initiative's next re-assessment date"),
)
class ReassessmentViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ReassessmentSerializer
    filterset_class = ReassessmentFilter
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    ordering_fields = ["next_reassessment_on", "id"]
    ordering = ["next_reassessment_on", "id"]

    def base_queryset(self):
        return reassessment_annotate(Initiative.objects.all(), today=timezone.localdate())
