"""Assessments: an analyst rates an initiative against the published rubric, a different manager approves."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerships.models import Initiative
from partnerships.tenancy import user_has_bank_role

from ..choices import AssessmentStatus, CriterionSource, VersionStatus
from ..errors import ApplicationError
from ..models import Assessment, Criterion, Rating, RubricVersion


def published_version_for(initiative: Initiative) -> RubricVersion:
    version = (
        RubricVersion.objects.filter(
            rubric__pillar_id=initiative.pillar_id, rubric__is_default=True, status=VersionStatus.PUBLISHED
        )
        .select_related("rubric")
        .first()
    )
    if version is None:
        raise ApplicationError(
            _("No rubric is published for the pillar %(pillar)s yet.") % {"pillar": initiative.pillar_id}
        )
    return version


def assessment_create(
    *, initiative: Initiative, author, rubric_version: RubricVersion | None = None, note: str = ""
) -> Assessment:
    if not user_has_bank_role(author, initiative.bank_id, min_role="analyst"):
        raise ApplicationError(
            _("You need the analyst role in this bank to assess its initiatives."), {"status": 403}
        )
    version = rubric_version or published_version_for(initiative)
    if version.status != VersionStatus.PUBLISHED:
        raise ValidationError({"rubric_version": _("Assessments use a published rubric version.")})
    if version.rubric.pillar_id != initiative.pillar_id:
        raise ValidationError(
            {"rubric_version": _("This rubric is for another pillar than the initiative's.")}
        )
    return Assessment.objects.create(initiative=initiative, rubric_version=version, author=author, note=note)


def assessment_set_ratings(*, assessment: Assessment, user, ratings: list[dict]) -> list[Rating]:
    """Upsert ratings ``[{criterion: key, value: 0–4 or None, rationale}]`` on a draft; all or nothing."""
    if assessment.status != AssessmentStatus.DRAFT:
        raise ApplicationError(
            _("Only a draft assessment can be changed; this one is %(status)s.")
            % {"status": assessment.get_status_display()}
        )
    if not user_has_bank_role(user, assessment.initiative.bank_id, min_role="analyst"):
        raise ApplicationError(_("You need the analyst role in this bank."), {"status": 403})
    criteria = {c.key: c for c in Criterion.objects.filter(version_id=assessment.rubric_version_id)}
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[Criterion, Decimal | None, str]] = []
    for i, item in enumerate(ratings):
        key = item.get("criterion")
        where = f"ratings[{i}]"
        criterion = criteria.get(key)
        if criterion is None:
            errors.setdefault(where, []).append(
                _("Unknown criterion “%(key)s” for this rubric version.") % {"key": key}
            )
            continue
        if criterion.source == CriterionSource.COMPUTED:
            errors.setdefault(where, []).append(
                _("“%(key)s” is computed from data and cannot be rated.") % {"key": key}
            )
            continue
        raw = item.get("value")
        value = None
        if raw is not None and raw != "":
            try:
                value = Decimal(str(raw))
            except (InvalidOperation, ValueError):
                errors.setdefault(where, []).append(_("The rating must be a number."))
                continue
            if not value.is_finite() or not criterion.scale_min <= value <= criterion.scale_max:
                errors.setdefault(where, []).append(
                    _("“%(key)s” is rated from %(lo)s to %(hi)s.")
                    % {"key": key, "lo": criterion.scale_min, "hi": criterion.scale_max}
                )
                continue
        cleaned.append((criterion, value, str(item.get("rationale") or "")[:5000]))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = {r.criterion_id: r for r in Rating.objects.filter(assessment=assessment)}
        saved = []
        for criterion, value, rationale in cleaned:
            rating = existing.get(criterion.pk) or Rating(assessment=assessment, criterion=criterion)
            rating.value, rating.rationale = value, rationale
            rating.save()
            saved.append(rating)
        assessment.save(update_fields=["updated_at"])
    return saved


def assessment_submit(*, assessment: Assessment, user) -> Assessment:
    if assessment.status != AssessmentStatus.DRAFT:
        raise ApplicationError(
            _("Only a draft can be submitted; this one is %(status)s.")
            % {"status": assessment.get_status_display()}
        )
    if not user_has_bank_role(user, assessment.initiative.bank_id, min_role="analyst"):
        raise ApplicationError(_("You need the analyst role in this bank."), {"status": 403})
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = timezone.now()
    assessment.save(update_fields=["status", "submitted_at", "updated_at"])
    return assessment


def assessment_approve(*, assessment: Assessment, user):
    """Four eyes: a manager of the bank who is not the author approves; the initiative is then re-scored."""
    from .jobs import score_job_create

    if not user_has_bank_role(user, assessment.initiative.bank_id, min_role="manager"):
        raise ApplicationError(_("Only a manager of this bank can approve assessments."), {"status": 403})
    if assessment.author_id == user.pk:
        raise ApplicationError(
            _("An assessment is approved by someone other than its author (four eyes)."), {"status": 403}
        )
    if assessment.status != AssessmentStatus.SUBMITTED:
        raise ApplicationError(
            _("Only a submitted assessment can be approved; this one is %(status)s.")
            % {"status": assessment.get_status_display()}
        )
    with transaction.atomic():
        assessment.status = AssessmentStatus.APPROVED
        assessment.approved_by = user
        assessment.approved_at = timezone.now()
        assessment.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        job = score_job_create(
            requested_by=user,
            bank_id=assessment.initiative.bank_id,
            initiative_ids=[assessment.initiative_id],
        )
    return assessment, job
