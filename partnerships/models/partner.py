"""Technology partners and their reference figures (PartnerMetric), as the seed report states them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import MetricUnit
from .base import BilingualNameModel


class TechPartner(BilingualNameModel):
    """A technology company banks partner with. Reference data shared by every bank."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    ticker = models.CharField(_("ticker"), max_length=64, blank=True)
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

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
