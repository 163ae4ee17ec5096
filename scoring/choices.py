"""Named choice sets of the scoring app, with translated labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", pgettext_lazy("rubric version status", "Retired")


class CriterionSource(models.TextChoices):
    RATED = "rated", _("Rated by a person")
    COMPUTED = "computed", _("Computed from data")


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class JobKind(models.TextChoices):
    REQUEST = "request", _("Requested")
    APPROVAL = "approval", _("Assessment approved")
    PUBLISH = "publish", _("Rubric version published")
    SWEEP = "sweep", _("Stale-score sweep")


class Tier(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class ChecklistAnswerValue(models.TextChoices):
    MET = "met", pgettext_lazy("checklist answer", "Met")
    NOT_MET = "not_met", pgettext_lazy("checklist answer", "Not met")
    NOT_APPLICABLE = "na", pgettext_lazy("checklist answer", "Not applicable")
