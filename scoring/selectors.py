"""Reads of the scoring app (selectors): scores with their breakdowns, assessments waiting for a user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import get_language

from partnerships.tenancy import is_system

from .choices import AssessmentStatus
from .describe import describe_computed, describe_exit_cap, describe_joint_lending, describe_tier_cap
from .lifecycle import EXIT_CRITERION
from .models import Assessment, RubricVersion, Score
from .services.assessments import APPROVE_ROLE, RATE_ROLE
from .services.compute import version_bundle


def score_breakdown(score: Score) -> dict:
    """The full breakdown of a stored score: one row per criterion, rebuilt from the stored inputs.

    A Score stores its inputs (ratings, rationales, computed data) and its results (total, tier, gates,
    confidence); the pure engine turns the inputs back into the rows — key, name, weight, rating,
    normalised value, contribution in points, source, rationale or data, gate — exactly as when it was scored.
    """
    stored = score.breakdown or {}
    if stored.get("format") != 2:  # rows stored as they were (older format)
        return {"rows": stored.get("rows", []), "assessment_status": stored.get("assessment_status")}
    version = score.rubric_version if isinstance(score.rubric_version, RubricVersion) else None
    bundle = version_bundle(
        version or RubricVersion.objects.select_related("rubric").get(pk=score.rubric_version_id)
    )
    values, notes = bundle.compiled.parse_inputs(stored["inputs"])
    result = bundle.compiled.score(values, notes)
    english = (get_language() or "").startswith("en")
    rows = []
    limit_notes: dict[str, str] = {}
    for row in result.breakdown:
        data = row.to_dict()
        zh, en = bundle.names.get(row.key, (row.name, row.name))
        data.update(name=en if english else zh, name_zh_hans=zh, name_en=en)
        if row.key in bundle.computed:
            data["rationale"] = describe_computed(bundle.computed[row.key], row.data, row.rationale)
        limits = describe_joint_lending(row.data)
        if limits:  # the limits that cap a rating (or approach), after the rater's own rationale
            limit_notes[row.key] = limits
            data["rationale"] = " ".join(t for t in (data["rationale"], limits) if t)
        if row.key == EXIT_CRITERION and row.data:  # the contract register's cap (scoring.lifecycle)
            exit_cap = describe_exit_cap(row.data)
            if exit_cap:
                data["rationale"] = " ".join(t for t in (data["rationale"], exit_cap) if t)
        rows.append(data)
    status = stored.get("assessment_status")
    return {
        "rows": rows,
        "assessment_status": status,
        "assessment_status_label": AssessmentStatus(status).label
        if status in AssessmentStatus.values
        else "",
        "engine_version": stored.get("engine_version"),
        "limits": limit_notes,  # criterion key → the joint-lending limits on it, described (the score panel's gates)
        # A severe monitoring event not yet re-assessed caps the tier (scoring.lifecycle): the cap, the events and
        # the sentence saying so; None when the tier is not capped.
        "tier_cap": stored.get("tier_cap"),
        "tier_cap_text": describe_tier_cap(stored.get("tier_cap")),
    }


# --- Assessments waiting for a user ---------------------------------------------------------------------------
# The rules are the assessment services' (scoring.services.assessments): the same roles, the same states, and the
# four-eyes filter, which the approval service itself applies to the assessment it locks.


def assessments_four_eyes(queryset: QuerySet, user) -> QuerySet:
    """The assessments of ``queryset`` the user neither wrote nor rated: the only ones they may approve."""
    return queryset.exclude(author_id=user.pk).exclude(raters=user.pk)


def assessments_to_rate(user) -> QuerySet:
    """Drafts (new, or returned with a reason) the user may rate and edit: the analyst role in their bank."""
    if is_system(user):
        return Assessment.objects.none()
    return Assessment.objects.for_user(user, min_role=RATE_ROLE).filter(status=AssessmentStatus.DRAFT)


def assessments_to_approve(user) -> QuerySet:
    """Submitted assessments the user may approve now: a manager of the bank who neither wrote nor rated them."""
    if is_system(user):
        return Assessment.objects.none()
    submitted = Assessment.objects.for_user(user, min_role=APPROVE_ROLE).filter(
        status=AssessmentStatus.SUBMITTED
    )
    return assessments_four_eyes(submitted, user)
