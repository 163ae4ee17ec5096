"""The partnership lifecycle (issue 14, ``docs/lifecycle.md``): each bank's re-assessment cadence, the monitoring
events recorded against an initiative, and the contract and exit register.

Rules live in ``partnerships.services.lifecycle`` (writes) and ``partnerships.lifecycle`` (the due-date reads);
the caps they put on scores in ``scoring.lifecycle``. A field that can be unknown is a ``TriState`` whose
``unknown`` counts as ``no``: unknown is never better than known.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import MonitoringEventKind, MonitoringEventStatus, Severity, TriState
from .base import TenantManager

MONTHS = [MinValueValidator(1), MaxValueValidator(120)]


class ReassessmentPolicy(models.Model):
    """How often a bank re-assesses its initiatives, in months, by current tier and for critical ones.

    One per bank; a bank without one uses the defaults (``partnerships.lifecycle.DEFAULT_MONTHS``: critical or
    tier D every 6 months, C every 12, A and B every 24). A critical initiative takes the shorter of its tier's
    interval and ``months_critical``.
    """

    TENANT_BANK_PATH = "bank"

    bank = models.OneToOneField(
        "partnerships.Bank",
        on_delete=models.CASCADE,
        related_name="reassessment_policy",
        verbose_name=_("bank"),
    )
    months_critical = models.PositiveSmallIntegerField(
        _("months for a critical initiative"), default=6, validators=MONTHS
    )
    months_a = models.PositiveSmallIntegerField(_("months for tier A"), default=24, validators=MONTHS)
    months_b = models.PositiveSmallIntegerField(_("months for tier B"), default=24, validators=MONTHS)
    months_c = models.PositiveSmallIntegerField(_("months for tier C"), default=12, validators=MONTHS)
    months_d = models.PositiveSmallIntegerField(
        _("months for tier D or unscored"), default=6, validators=MONTHS
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("re-assessment policy")
        verbose_name_plural = _("re-assessment policies")
        ordering = ["bank__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(months_critical__gte=1, months_critical__lte=120)
                & models.Q(months_a__gte=1, months_a__lte=120)
                & models.Q(months_b__gte=1, months_b__lte=120)
                & models.Q(months_c__gte=1, months_c__lte=120)
                & models.Q(months_d__gte=1, months_d__lte=120),
                name="reassessment_policy_months_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.bank)


class MonitoringEvent(models.Model):
    """Something that happened in a running partnership: an incident, a complaint, a regulatory finding, a data
    breach or a change of the partner's licence, with its remediation. A high or critical one requires the
    initiative to be re-assessed and caps its tier until then (``scoring.lifecycle``)."""

    TENANT_BANK_PATH = "initiative__bank"
    Kind = MonitoringEventKind
    Status = MonitoringEventStatus

    initiative = models.ForeignKey(
        "partnerships.Initiative",
        on_delete=models.CASCADE,
        related_name="monitoring_events",
        verbose_name=_("initiative"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=MonitoringEventKind.choices)
    occurred_on = models.DateField(_("occurred on"))
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    description = models.TextField(_("description"))
    remediation_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="remediations",
        verbose_name=_("remediation owner"),
    )
    remediation_due_on = models.DateField(_("remediation deadline"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MonitoringEventStatus.choices, default=MonitoringEventStatus.OPEN
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("monitoring event")
        verbose_name_plural = _("monitoring events")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=MonitoringEventKind.values), name="monitoring_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=Severity.values), name="monitoring_event_severity_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=MonitoringEventStatus.values),
                name="monitoring_event_status_valid",
            ),
            # closed ⇔ a closing date
            models.CheckConstraint(
                condition=models.Q(status=MonitoringEventStatus.CLOSED, closed_on__isnull=False)
                | (~models.Q(status=MonitoringEventStatus.CLOSED) & models.Q(closed_on__isnull=True)),
                name="monitoring_event_closed_dated",
            ),
            models.CheckConstraint(condition=~models.Q(description=""), name="monitoring_event_described"),
        ]
        indexes = [models.Index(fields=["initiative", "status"], name="monitoring_event_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_on}"


class PartnershipContract(models.Model):
    """The contract and exit register of an initiative (one per initiative): dates, renewal and notice, audit
    rights, data return and destruction, service levels, the exit plan and when it was last tested. It caps
    exit readiness (``scoring.lifecycle.exit_readiness_cap``) and tells whether the initiative supports a critical
    function (which shortens its re-assessment interval; unknown counts as critical)."""

    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.OneToOneField(
        "partnerships.Initiative",
        on_delete=models.CASCADE,
        related_name="contract",
        verbose_name=_("initiative"),
    )
    reference = models.CharField(_("contract reference"), max_length=100, blank=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    auto_renews = models.CharField(
        _("renews automatically"), max_length=8, choices=TriState.choices, default=TriState.UNKNOWN
    )
    notice_days = models.PositiveIntegerField(_("notice period (days)"), null=True, blank=True)
    critical_function = models.CharField(
        _("supports a critical function"),
        max_length=8,
        choices=TriState.choices,
        default=TriState.UNKNOWN,
        help_text=_("Unknown counts as critical: it is re-assessed as often as a critical initiative."),
    )
    audit_rights = models.CharField(
        _("audit rights"), max_length=8, choices=TriState.choices, default=TriState.UNKNOWN
    )
    data_return_and_destruction = models.CharField(
        _("data return and destruction terms"),
        max_length=8,
        choices=TriState.choices,
        default=TriState.UNKNOWN,
    )
    sla_summary = models.TextField(_("service levels"), blank=True)
    sla_availability_percent = models.DecimalField(
        _("availability committed (%)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    exit_plan = models.TextField(_("exit plan"), blank=True)
    exit_plan_last_tested_on = models.DateField(_("exit plan last tested on"), null=True, blank=True)
    alternative_provider = models.CharField(_("named alternative provider"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contract and exit register entry")
        verbose_name_plural = _("contract and exit register")
        ordering = ["initiative__bank__code", "initiative__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_dates_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(sla_availability_percent__isnull=True)
                | models.Q(sla_availability_percent__gte=0, sla_availability_percent__lte=100),
                name="contract_availability_range",
            ),
            models.CheckConstraint(
                condition=models.Q(auto_renews__in=TriState.values)
                & models.Q(critical_function__in=TriState.values)
                & models.Q(audit_rights__in=TriState.values)
                & models.Q(data_return_and_destruction__in=TriState.values),
                name="contract_tristate_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.initiative)


class ReassessmentReminder(models.Model):
    """The weekly re-assessment reminder of one bank for one week (Monday): the row is the "sent once" guard, so a
    retried or doubled run sends nothing again (``partnerships.services.lifecycle.reassessment_reminders_send``)."""

    TENANT_BANK_PATH = "bank"

    bank = models.ForeignKey(
        "partnerships.Bank",
        on_delete=models.CASCADE,
        related_name="reassessment_reminders",
        verbose_name=_("bank"),
    )
    week = models.DateField(_("week (Monday)"))
    initiatives = models.PositiveIntegerField(_("initiatives due or overdue"), default=0)
    messages = models.PositiveIntegerField(_("messages sent"), default=0)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    objects = TenantManager()

    class Meta:
        verbose_name = _("re-assessment reminder")
        verbose_name_plural = _("re-assessment reminders")
        ordering = ["-week", "bank__code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "week"], name="reassessment_reminder_once_a_week"),
        ]

    def __str__(self) -> str:
        return f"{self.bank} · {self.week}"
