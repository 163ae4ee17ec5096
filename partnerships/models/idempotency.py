"""The stored first answer to an API request sent with an ``Idempotency-Key`` header (issue 16).

One row per user and key: the request it answered (method, path, SHA-256 of the canonical JSON body) and the answer
(status, body, the headers worth repeating). The row is written in the same transaction as the operation's own
writes, so a committed operation always has its row and a rolled-back one never has. Rows older than
``IDEMPOTENCY_TTL_HOURS`` are ignored and purged (``partnerships.services.idempotency``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_records",
        verbose_name=_("user"),
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.TextField(_("path"))  # any length the router accepts
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    # The answer's JSON as text, not a JSONField: PostgreSQL's jsonb reorders keys, and a replay should repeat
    # the first answer's bytes, not only its meaning.
    response_body = models.TextField(_("response body"), blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    # created_at: when the first request began (expiry counts from it); completed_at: when it was answered.
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_record_user_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
