"""An assessment: one person's ratings of an initiative against a rubric version, approved by another."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from partnerships.models import Initiative
from partnerships.models.base import TenantManager

from ..choices import AssessmentStatus
from .rubric import Criterion, RubricVersion


class Assessment(models.Model):
    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="assessments", verbose_name=_("initiative")
    )
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("rubric version")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="authored_assessments",
        verbose_name=_("author"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT
    )
    note = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_assessments",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # Everyone who ever wrote a rating of it: none of them may approve it (four eyes on the ratings, not only
    # on the authorship). Kept by scoring.services.assessments.assessment_set_ratings.
    raters = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="rated_assessments", verbose_name=_("raters")
    )
    returned_reason = models.TextField(_("reason for return"), blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="returned_assessments",
        verbose_name=_("returned by"),
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AssessmentStatus.values), name="assessment_status_valid"
            ),
            # Four eyes: whoever approves is not the author.
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("author")),
                name="assessment_approver_not_author",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="approved")
                | models.Q(approved_by__isnull=False, approved_at__isnull=False),
                name="assessment_approved_has_approver",
            ),
        ]
        indexes = [
            models.Index(fields=["initiative", "rubric_version", "-updated_at"], name="assessment_latest"),
            # An initiative's last approval (partnerships.lifecycle: the re-assessment dates of every list, filter
            # and report) read from the index alone: 0.89 → 0.68 s for the stale counts of 100k initiatives.
            models.Index(
                fields=["initiative", "-approved_at"],
                name="assessment_last_approved",
                condition=models.Q(status="approved", approved_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative} · {self.rubric_version} · {self.get_status_display()}"


class Rating(models.Model):
    TENANT_BANK_PATH = "assessment__initiative__bank"

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("assessment")
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="ratings", verbose_name=_("criterion")
    )
    value = models.DecimalField(_("rating"), max_digits=6, decimal_places=2, null=True, blank=True)
    rationale = models.TextField(_("rationale"), blank=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["assessment_id", "criterion__position"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "criterion"], name="rating_unique_per_criterion"),
        ]

    def __str__(self) -> str:
        return self.criterion.name
