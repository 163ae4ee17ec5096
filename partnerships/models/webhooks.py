"""Webhooks for integrators (issue 14): the endpoints a bank's managers register and the log of every delivery.

An endpoint belongs to one bank and receives only that bank's events. Its secret signs each delivery (HMAC-SHA256,
``docs/webhooks.md``), so it is stored as it is — a hash would be useless, HMAC needs the key itself — and shown to
the manager only once, in the answer that created or rotated it. A delivery row is written in the transaction of the
change it reports and carried out by a Celery task after commit; the row is the log (attempts, last status code,
response time, error) and the task's idempotency guard.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import WebhookDeliveryStatus
from .base import TenantManager


class WebhookEndpoint(models.Model):
    """An HTTPS address of an integrator's that receives the events it subscribed to, for one bank."""

    TENANT_BANK_PATH = "bank"

    bank = models.ForeignKey(
        "partnerships.Bank",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("bank"),
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("The event types this endpoint receives.")
    )
    active = models.BooleanField(_("active"), default=True)
    # Stored in clear on purpose: the HMAC signature needs the key itself (a hash of it could not sign).
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret rotated at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["bank__code", "url", "pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint: the payload as signed, and how the attempts went."""

    TENANT_BANK_PATH = "endpoint__bank"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event_type = models.CharField(_("event type"), max_length=50)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(_("last response time (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]
        constraints = [
            # One delivery of an event to an endpoint; a redelivery re-sends the same row.
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} ({self.event_id})"
