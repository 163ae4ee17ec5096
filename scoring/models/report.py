"""A periodic portfolio report: one row per (kind, scope, period), its JSON payload and its rendered HTML."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerships.models import Bank
from partnerships.models.base import TenantManager


class ReportKind(models.TextChoices):
    WEEKLY_PORTFOLIO = "weekly_portfolio", _("Weekly portfolio report")


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class Report(models.Model):
    """``bank`` is the scope: a bank's report, or (null) the report across all banks that only superusers see.

    ``payload`` is the report's data (versioned by ``payload["schema_version"]``); ``html`` is the page
    rendered from it (autoescaped template, inline SVG charts) in ``language``. CSV and XLSX are produced from
    the payload on request, so they never disagree with the page.
    """

    TENANT_BANK_PATH = "bank"
    Kind = ReportKind
    Status = ReportStatus

    kind = models.CharField(
        _("kind"), max_length=32, choices=ReportKind.choices, default=ReportKind.WEEKLY_PORTFOLIO
    )
    bank = models.ForeignKey(
        Bank,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("bank"),
        help_text=_("Empty: the report across all banks (superusers only)."),
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.PENDING, db_index=True
    )
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    html = models.TextField(_("rendered HTML"), blank=True)
    language = models.CharField(_("language of the rendered HTML"), max_length=16, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-period_start", "bank_id", "kind"]
        constraints = [
            # One report per kind, scope and period. Two partial constraints rather than one with
            # nulls_distinct=False: Django applies that option on PostgreSQL 15+ only, not on SQLite.
            models.UniqueConstraint(
                fields=["kind", "bank", "period_start"],
                condition=models.Q(bank__isnull=False),
                name="report_unique_bank_period",
            ),
            models.UniqueConstraint(
                fields=["kind", "period_start"],
                condition=models.Q(bank__isnull=True),
                name="report_unique_all_banks_period",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReportStatus.values), name="report_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=ReportKind.values), name="report_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="report_period_ordered"
            ),
        ]
        indexes = [models.Index(fields=["kind", "bank", "-period_start"], name="report_previous")]

    def __str__(self) -> str:
        scope = self.bank.code if self.bank_id else _("all banks")
        return f"{self.get_kind_display()} · {scope} · {self.period_start:%Y-%m-%d}"
