"""Key performance indicators of an initiative and their observations over time."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import CostDriver
from .base import TenantManager
from .initiative import Initiative


class KPI(models.Model):
    """A measurable target. A target below the baseline is a cost to bring down; attainment works alike."""

    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="kpis", verbose_name=_("initiative")
    )
    name = models.CharField(_("name"), max_length=200)
    cost_driver = models.CharField(
        _("cost driver"), max_length=20, choices=CostDriver.choices, default=CostDriver.GROWTH
    )
    unit = models.CharField(_("unit"), max_length=32, blank=True)
    baseline = models.DecimalField(_("baseline"), max_digits=20, decimal_places=4)
    target = models.DecimalField(_("target"), max_digits=20, decimal_places=4, null=True, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    baseline_date = models.DateField(
        _("baseline date"),
        null=True,
        blank=True,
        help_text=_("When the baseline held: the start of the path to the target (rubric version 2)."),
    )
    weight = models.DecimalField(
        _("weight"),
        max_digits=6,
        decimal_places=2,
        default=1,
        help_text=_("How much this KPI counts in KPI attainment (rubric version 2)."),
    )

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("KPI")
        verbose_name_plural = _("KPIs")
        ordering = ["initiative_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "name"], name="kpi_initiative_name_unique"),
            models.CheckConstraint(
                condition=models.Q(target__isnull=True) | ~models.Q(target=models.F("baseline")),
                name="kpi_target_differs_from_baseline",
            ),
            models.CheckConstraint(
                condition=models.Q(cost_driver__in=CostDriver.values), name="kpi_cost_driver_valid"
            ),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="kpi_weight_positive"),
            models.CheckConstraint(
                condition=models.Q(baseline_date__isnull=True)
                | models.Q(target_date__isnull=True)
                | models.Q(target_date__gt=models.F("baseline_date")),
                name="kpi_target_after_baseline",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.target is not None and self.baseline is not None and self.target == self.baseline:
            raise ValidationError({"target": _("The target must differ from the baseline.")})


class KPIObservation(models.Model):
    TENANT_BANK_PATH = "kpi__initiative__bank"

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="observations", verbose_name=_("KPI"))
    observed_on = models.DateField(_("observed on"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("KPI observation")
        verbose_name_plural = _("KPI observations")
        ordering = ["kpi_id", "-observed_on"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "observed_on"], name="kpi_observation_unique_date"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value} ({self.observed_on})"
