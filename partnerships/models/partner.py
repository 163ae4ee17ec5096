"""Technology partners and their reference figures (PartnerMetric), as the seed report states them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import LicenceType, MetricUnit, PartnerKind, RiskTier
from .base import BilingualNameModel, TenantManager


class TechPartner(BilingualNameModel):
    """A technology company banks partner with. Reference data shared by every bank."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    ticker = models.CharField(_("ticker"), max_length=64, blank=True)
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=24, choices=PartnerKind.choices, default=PartnerKind.LISTED_PLATFORM
    )
    related_party_group = models.CharField(
        _("related-party group"),
        max_length=100,
        blank=True,
        help_text=_("The group whose companies count as one partner for concentration limits."),
    )
    is_illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Invented for the demo, not a real company's facts.")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tech partner")
        verbose_name_plural = _("tech partners")
        ordering = ["key"]


class PartnerMetric(models.Model):
    """One figure for one partner and period, e.g. Tencent's 2024 market-cap change, +43 %.

    ``period`` is the label the source uses ("2024", "2024Q3", "2024-01~09"); ``period_end`` orders periods
    so that "latest" is well defined. ``segment`` is blank for whole-company figures.
    """

    partner = models.ForeignKey(
        TechPartner, on_delete=models.CASCADE, related_name="metrics", verbose_name=_("partner")
    )
    metric = models.SlugField(_("metric key"), max_length=64)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    part_of = models.CharField(
        _("part of segment"),
        max_length=100,
        blank=True,
        help_text=_("The segment this one is inside (its revenue is already counted there)."),
    )
    period = models.CharField(_("period"), max_length=32)
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=16, choices=MetricUnit.choices)
    source = models.TextField(_("source note"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner metric")
        verbose_name_plural = _("partner metrics")
        ordering = ["partner__key", "metric", "segment", "-period_end"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "metric", "segment", "period"], name="partner_metric_unique_period"
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=MetricUnit.values), name="partner_metric_unit_valid"
            ),
            models.CheckConstraint(condition=~models.Q(source=""), name="partner_metric_source_required"),
        ]
        indexes = [models.Index(fields=["metric", "partner", "-period_end"], name="partner_metric_latest")]

    def __str__(self) -> str:
        seg = f" · {self.segment}" if self.segment else ""
        return f"{self.partner} {self.metric}{seg} {self.period}: {self.value} {self.unit}"


class PartnerLicence(models.Model):
    """A licence a partner holds: what lets it guarantee, insure, report credit, pay or lend."""

    partner = models.ForeignKey(
        TechPartner, on_delete=models.CASCADE, related_name="licences", verbose_name=_("partner")
    )
    licence_type = models.CharField(_("licence type"), max_length=24, choices=LicenceType.choices)
    number = models.CharField(_("licence number"), max_length=100, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Blank: no expiry."))
    source = models.TextField(_("source note"), help_text=_("Where the licence can be verified."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner licence")
        verbose_name_plural = _("partner licences")
        ordering = ["partner__key", "licence_type"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(licence_type__in=LicenceType.values), name="partner_licence_type_valid"
            ),
            models.CheckConstraint(condition=~models.Q(issuer=""), name="partner_licence_issuer_required"),
            models.CheckConstraint(condition=~models.Q(source=""), name="partner_licence_source_required"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} · {self.get_licence_type_display()}"


class PartnerDueDiligence(models.Model):
    """A bank's due diligence on a partner: its answers, the inherent-risk tier, when, and when next due."""

    TENANT_BANK_PATH = "bank"  # each bank sees and records only its own (partnerships.tenancy)

    bank = models.ForeignKey(
        "partnerships.Bank", on_delete=models.CASCADE, related_name="due_diligence", verbose_name=_("bank")
    )
    partner = models.ForeignKey(
        TechPartner, on_delete=models.PROTECT, related_name="due_diligence", verbose_name=_("partner")
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    inherent_risk_tier = models.CharField(_("inherent-risk tier"), max_length=8, choices=RiskTier.choices)
    performed_on = models.DateField(_("performed on"))
    next_due = models.DateField(_("next due"))
    performed_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("performed by"),
    )

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("due-diligence record")
        verbose_name_plural = _("due-diligence records")
        ordering = ["bank", "partner__key", "-performed_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(inherent_risk_tier__in=RiskTier.values), name="due_diligence_tier_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(next_due__gt=models.F("performed_on")), name="due_diligence_next_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} · {self.performed_on}"
