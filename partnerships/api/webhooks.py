"""``/api/v1/webhooks/`` and ``/api/v1/webhook-deliveries/``: integrators' webhook endpoints and their delivery log
(issue 14, ``docs/webhooks.md``). Managers of a bank only, for reads too (an endpoint's address and its log are the
bank's integration details); writes go through ``partnerships.services.webhooks``. The signing secret appears only
in the answers of ``POST webhooks/`` and ``POST webhooks/{id}/rotate-secret/``.

The texts here are for the OpenAPI schema, which is English only (``config.api_errors.EnglishSchemaGenerator``), so
they are plain strings, not msgids.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api_errors import errors

from ..choices import WebhookDeliveryStatus, WebhookEventType
from ..models import WebhookDelivery, WebhookEndpoint
from ..services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_redeliver,
    webhook_secret_rotate,
)
from ..tenancy import scope_queryset
from .filters import ApiFilterBackend, IdFilter, StrictOrderingFilter
from .parsers import JSONParser
from .views import ApiViewMixin

MANAGE_ROLE = "manager"


class WebhookEndpointSerializer(serializers.ModelSerializer):
    bank = serializers.IntegerField(
        source="bank_id", help_text="The bank's id; you must be one of its managers."
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        help_text="The event types this endpoint receives.",
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "bank",
            "url",
            "events",
            "active",
            "description",
            "created_by",
            "created_at",
            "secret_rotated_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "secret_rotated_at", "updated_at"]
        extra_kwargs = {
            "url": {
                "help_text": "HTTPS address to POST events to; private, loopback and reserved addresses are refused."
            },
        }


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…). Shown only in this answer: store it now; rotate it to get a new one.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_type",
            "event_id",
            "payload",
            "status",
            "attempts",
            "last_status_code",
            "last_response_ms",
            "last_error",
            "next_attempt_at",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class WebhookDeliveryFilter(filters.FilterSet):
    endpoint = IdFilter(field_name="endpoint_id", label="Endpoint id")
    status = filters.ChoiceFilter(choices=WebhookDeliveryStatus.choices)
    event_type = filters.ChoiceFilter(choices=WebhookEventType.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event_type"]


def _service_data(serializer) -> dict:
    data = dict(serializer.validated_data)
    if "bank_id" in data:
        data["bank"] = data.pop("bank_id")
    return data


class ManagerScopedMixin(ApiViewMixin):
    """Rows of the banks where the user is a manager; every action needs that role somewhere."""

    write_role = MANAGE_ROLE
    action_roles = {"list": MANAGE_ROLE, "retrieve": MANAGE_ROLE}

    def get_queryset(self):
        return scope_queryset(self.base_queryset(), self.request.user, min_role=MANAGE_ROLE)


_MANAGERS = "Managers of the endpoint's bank only (others: 403, or 404 for another bank's endpoint)."


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints of your banks",
        description="The endpoints registered for the banks you manage. The signing secret is never listed. "
        + _MANAGERS,
    ),
    retrieve=extend_schema(summary="A webhook endpoint", description=_MANAGERS),
    create=extend_schema(
        summary="Register a webhook endpoint",
        description="Registers an HTTPS endpoint for one of your banks and the event types it receives. The answer "
        "carries the signing secret, once: store it, it is never shown again (rotate it to get a new one). "
        "Deliveries are signed as the Standard Webhooks specification says (docs/webhooks.md). " + _MANAGERS,
        responses={201: WebhookEndpointWithSecretSerializer, **errors(400, 403)},
    ),
    update=extend_schema(summary="Replace a webhook endpoint's settings", description=_MANAGERS),
    partial_update=extend_schema(summary="Change a webhook endpoint", description=_MANAGERS),
    destroy=extend_schema(
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint and its delivery log. " + _MANAGERS,
        responses={204: None},
    ),
)
class WebhookEndpointViewSet(ManagerScopedMixin, viewsets.ModelViewSet):
    serializer_class = WebhookEndpointSerializer
    parser_classes = [JSONParser]  # JSON bodies only
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id", "created_at", "url"]
    ordering = ["id"]

    def base_queryset(self):
        return WebhookEndpoint.objects.select_related("created_by")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(user=request.user, data=_service_data(serializer))
        headers = {"Location": self.reverse_action("detail", args=[endpoint.pk])}
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data,
            status=status.HTTP_201_CREATED,
            headers=headers,
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(
            user=request.user, endpoint=instance, data=_service_data(serializer)
        )
        return Response(self.get_serializer(endpoint).data)

    def perform_destroy(self, instance):
        webhook_endpoint_delete(user=self.request.user, endpoint=instance)

    @extend_schema(
        summary="Rotate a webhook endpoint's signing secret",
        description="A new secret at once; the old one stops signing. The answer carries the new secret, once. "
        + _MANAGERS,
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer, **errors(403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = webhook_secret_rotate(user=request.user, endpoint=self.get_object())
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)


@extend_schema_view(
    list=extend_schema(
        summary="Webhook delivery log",
        description="Every event sent (or to be sent) to the endpoints of the banks you manage, newest first, "
        "with its attempts, last status code, response time and error. Filter by endpoint, status and "
        "event_type. " + _MANAGERS,
    ),
    retrieve=extend_schema(summary="A webhook delivery", description=_MANAGERS),
)
class WebhookDeliveryViewSet(ManagerScopedMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = WebhookDeliverySerializer
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]
    action_roles = {**ManagerScopedMixin.action_roles, "redeliver": MANAGE_ROLE}

    def base_queryset(self):
        return WebhookDelivery.objects.all()

    @extend_schema(
        summary="Redeliver a webhook",
        description="Sends the delivery again now, with a new round of attempts and the same event id "
        "(webhook-id), whatever its status. Answers 202: the sending happens in the background; follow the "
        "delivery's status. 409 when the endpoint is inactive. " + _MANAGERS,
        request=None,
        responses={202: WebhookDeliverySerializer, **errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = webhook_redeliver(user=request.user, delivery=self.get_object())
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)
