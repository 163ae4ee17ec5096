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
            # Each initiative's last approval (the view LastApproval, which partnerships.lifecycle joins for the
            # re-assessment dates of every list, filter and report) read from the index alone.
            models.Index(
                fields=["initiative", "-approved_at"],
                name="assessment_last_approved",
                condition=models.Q(status="approved", approved_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative} · {self.rubric_version} · {self.get_status_display()}"


class LastApproval(models.Model):
    """Each initiative's last approved assessment, read-only: a database view (scoring/migrations/0009).

    ``partnerships.lifecycle`` counts re-assessment dates from it. As a view it joins once, where a correlated
    subquery ran for every row of every list, filter and report that shows a date (4 of them a row in the report's
    stale section); it is always exactly what the assessments say, with nothing to keep in step."""

    initiative = models.OneToOneField(
        Initiative,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="last_approval",
        verbose_name=_("initiative"),
    )
    approved_at = models.DateTimeField(_("last approved at"))

    class Meta:
        managed = False
        db_table = "scoring_lastapproval"
        verbose_name = _("last approval")
        verbose_name_plural = _("last approvals")

    def __str__(self) -> str:
        return f"{self.initiative_id} · {self.approved_at:%Y-%m-%d}"


class SevereSinceApproval(models.Model):
    """Read-only: for each initiative with a high or critical monitoring event recorded after its last approval (or
    ever, when never approved), the day the first of them occurred — a database view (scoring/migrations/0010).

    It is what makes a re-assessment required (``partnerships.lifecycle``); joined once instead of two correlated
    subqueries a row. Its SQL names the severities of ``partnerships.choices.SEVERE`` (a test holds them equal)."""

    initiative = models.OneToOneField(
        Initiative,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="severe_since_approval",
        verbose_name=_("initiative"),
    )
    required_since = models.DateField(_("re-assessment required since"))

    class Meta:
        managed = False
        db_table = "scoring_severesinceapproval"
        verbose_name = _("severe event since the last approval")
        verbose_name_plural = _("severe events since the last approval")

    def __str__(self) -> str:
        return f"{self.initiative_id} · {self.required_since:%Y-%m-%d}"


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
