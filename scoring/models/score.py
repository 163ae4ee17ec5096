"""Scores are immutable rows; CurrentScore keeps each initiative's latest one a single indexed lookup away."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerships.models import Initiative
from partnerships.models.base import TenantManager

from ..choices import Tier
from ..errors import ImmutableError
from .rubric import RubricVersion


class Score(models.Model):
    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="scores", verbose_name=_("initiative")
    )
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="scores", verbose_name=_("rubric version")
    )
    assessment = models.ForeignKey(
        "scoring.Assessment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scores",
        verbose_name=_("assessment"),
    )
    total = models.DecimalField(_("total"), max_digits=4, decimal_places=1)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    gate_passed = models.BooleanField(_("gates passed"))
    failed_gates = models.JSONField(_("failed gates"), default=list, blank=True)
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3)
    provisional = models.BooleanField(_("provisional"))
    breakdown = models.JSONField(_("breakdown"), default=list)
    inputs_hash = models.CharField(_("inputs hash"), max_length=64)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True, db_index=True)
    job = models.ForeignKey(
        "scoring.ScoreJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scores",
        verbose_name=_("job"),
    )

    objects = TenantManager()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["-computed_at", "-id"]
        constraints = [
            # Idempotency: the same inputs under the same version give one Score, however often a job runs.
            models.UniqueConstraint(
                fields=["initiative", "rubric_version", "inputs_hash"], name="score_unique_inputs"
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0, total__lte=100), name="score_total_in_range"
            ),
            models.CheckConstraint(condition=models.Q(tier__in=Tier.values), name="score_tier_valid"),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1), name="score_confidence_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(gate_passed=True) | models.Q(tier="D"), name="score_failed_gate_is_tier_d"
            ),
        ]
        indexes = [models.Index(fields=["initiative", "-computed_at"], name="score_history")]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.total} ({self.tier})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableError(_("A score never changes; compute a new one."))
        super().save(*args, **kwargs)


class CurrentScore(models.Model):
    """The latest score of each initiative, denormalised for fast lists and filters (one row each)."""

    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.OneToOneField(
        Initiative,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="current_score",
        verbose_name=_("initiative"),
    )
    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="+", verbose_name=_("score"))
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("rubric version")
    )
    total = models.DecimalField(_("total"), max_digits=4, decimal_places=1, db_index=True)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, db_index=True)
    gate_passed = models.BooleanField(_("gates passed"))
    provisional = models.BooleanField(_("provisional"))
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3)
    computed_at = models.DateTimeField(_("computed at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("current score")
        verbose_name_plural = _("current scores")

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.total} ({self.tier})"
