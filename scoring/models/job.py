"""A ScoreJob wraps background scoring: who asked, what, its status and counts; chunks make it resumable."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerships.models import Bank
from partnerships.models.base import TenantManager

from ..choices import JobKind, JobStatus
from .rubric import RubricVersion


class ScoreJob(models.Model):
    TENANT_BANK_PATH = "bank"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bank = models.ForeignKey(
        Bank,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="score_jobs",
        verbose_name=_("bank"),
        help_text=_("Empty for a job across banks (publishing a rubric version)."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=JobKind.choices, default=JobKind.REQUEST)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    rubric_version = models.ForeignKey(
        RubricVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("rubric version"),
        help_text=_("Empty: each initiative's current published version."),
    )
    initiative_ids = models.JSONField(
        _("initiatives"), null=True, blank=True, help_text=_("Empty: every initiative in scope.")
    )
    pillar = models.CharField(_("pillar"), max_length=32, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    total = models.PositiveIntegerField(_("initiatives to score"), default=0)
    done = models.PositiveIntegerField(_("initiatives scored"), default=0)
    failed = models.PositiveIntegerField(_("initiatives failed"), default=0)
    scores_created = models.PositiveIntegerField(_("new scores"), default=0)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Follow one job from the API call to the worker's log: the same id is on the response and every log line.
    request_id = models.CharField(
        _("request ID"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_(
            "The X-Request-ID of the request (or task) that asked for this job; search the web and worker logs for it."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("score job")
        verbose_name_plural = _("score jobs")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="score_job_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=JobKind.values), name="score_job_kind_valid"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="score_job_sweep")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {str(self.pk)[:8]} · {self.get_status_display()}"


class ScoreJobChunk(models.Model):
    """Up to a few hundred initiatives of one bank; processed once, under a row lock (idempotent redelivery)."""

    TENANT_BANK_PATH = "job__bank"

    job = models.ForeignKey(ScoreJob, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("job"))
    index = models.PositiveIntegerField(_("index"))
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="+", verbose_name=_("bank"))
    initiative_ids = models.JSONField(_("initiatives"))
    status = models.CharField(_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    scored = models.PositiveIntegerField(_("scored"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    scores_created = models.PositiveIntegerField(_("new scores"), default=0)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("score job chunk")
        verbose_name_plural = _("score job chunks")
        ordering = ["job_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="score_job_chunk_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.index} ({self.status})"
