"""Assessments: an analyst rates an initiative against a published rubric version; another manager approves.

The lifecycle is a state machine, and every transition and every ratings write runs under the assessment's row
lock (``select_for_update``) and checks the state again inside it, so concurrent requests cannot both pass:

    draft ──submit──▶ submitted ──approve──▶ approved (final; the initiative is re-scored)
      ▲                   │
      └──return (reason)──┘

- Ratings change only while the assessment is a draft; a submitted or approved assessment's ratings are frozen.
- Submitting needs every rated gate criterion rated (a field message per missing gate).
- Four eyes: the approver is a manager of the bank who is neither the author nor anyone who wrote a rating of it
  (``Assessment.raters``). Of two concurrent approvals exactly one succeeds; the other gets ``Conflict`` (409).
- A manager of the bank, or the author, returns a submitted assessment to draft with a reason.

Every function raises ``partnerships.errors.ServiceError`` and is the only way the admin, the API and commands
change an assessment. ``user`` None is the system (seeds), which acts in every bank.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerships.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound
from partnerships.models import Initiative
from partnerships.tenancy import actor_has_bank_role, is_system, require_bank_role

from ..choices import AssessmentStatus, CriterionSource, JobKind, VersionStatus
from ..models import Assessment, Criterion, Rating, RubricVersion

RATE_ROLE = "analyst"
APPROVE_ROLE = "manager"
MAX_RATIONALE = 5000
MAX_NOTE = 20000
MAX_REASON = 2000


def published_version_for(initiative: Initiative) -> RubricVersion:
    version = (
        RubricVersion.objects.filter(
            rubric__pillar_id=initiative.pillar_id, rubric__is_default=True, status=VersionStatus.PUBLISHED
        )
        .select_related("rubric")
        .first()
    )
    if version is None:
        raise Conflict(
            _("No rubric is published for the pillar %(pillar)s yet.") % {"pillar": initiative.pillar_id}
        )
    return version


def check_version_for(initiative: Initiative, version, *, field: str = "rubric_version") -> RubricVersion:
    """A rubric version given for an initiative: it exists, is published and is of the initiative's pillar."""
    if version is None:
        return published_version_for(initiative)
    pk = getattr(version, "pk", version)
    found = (
        RubricVersion.objects.select_related("rubric").filter(pk=pk).first() if isinstance(pk, int) else None
    )
    if found is None:
        raise Invalid(fields={field: [_("No such rubric version.")]})
    if found.status != VersionStatus.PUBLISHED:
        raise Invalid(fields={field: [_("Assessments use a published rubric version.")]})
    if found.rubric.pillar_id != initiative.pillar_id:
        raise Invalid(fields={field: [_("This rubric version is for another pillar than the initiative's.")]})
    return found


def _locked(assessment: Assessment | int) -> Assessment:
    pk = getattr(assessment, "pk", assessment)
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("initiative", "rubric_version__rubric")
        .get(pk=pk)
    )


def _status_conflict(assessment: Assessment, message: str) -> Conflict:
    return Conflict(message % {"status": assessment.get_status_display()})


# --- create ------------------------------------------------------------------------------------------------
def assessment_check_create(*, user, initiative, rubric_version=None) -> tuple[Initiative, RubricVersion]:
    """Every check of ``assessment_create`` but the ratings: the initiative and the rubric version to use."""
    pk = getattr(initiative, "pk", initiative)
    found = Initiative.objects.filter(pk=pk).first() if isinstance(pk, int) else None
    if found is None or not actor_has_bank_role(user, found.bank_id, min_role="viewer"):
        raise Invalid(fields={"initiative": [_("Choose an initiative of one of your banks.")]})
    if not actor_has_bank_role(user, found.bank_id, min_role=RATE_ROLE):
        raise Invalid(
            fields={"initiative": [_("You need the analyst role in this bank to assess its initiatives.")]}
        )
    if is_system(user):
        raise Invalid(fields={"author": [_("An assessment needs an author.")]})
    return found, check_version_for(found, rubric_version)


def assessment_create(
    *,
    user,
    initiative: Initiative | int,
    rubric_version: RubricVersion | int | None = None,
    note: str = "",
    ratings: list[dict] | None = None,
) -> Assessment:
    """A draft for an initiative of a bank where the user is an analyst, optionally with first ratings."""
    found, version = assessment_check_create(user=user, initiative=initiative, rubric_version=rubric_version)
    note = _clean_note(note)
    with transaction.atomic():
        assessment = Assessment.objects.create(
            initiative=found, rubric_version=version, author=user, note=note
        )
        if ratings:
            assessment_set_ratings(user=user, assessment=assessment, ratings=ratings)
    return assessment


def _clean_note(note) -> str:
    note = "" if note is None else note
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise Invalid(fields={"note": [_("A note is text of at most %(n)d characters.") % {"n": MAX_NOTE}]})
    return note


def assessment_update_note(*, user, assessment: Assessment | int, note: str) -> Assessment:
    """The note of a draft (analyst role)."""
    note = _clean_note(note)
    with transaction.atomic():
        current = _locked(assessment)
        require_bank_role(user, current.initiative.bank_id, min_role=RATE_ROLE)
        if current.status != AssessmentStatus.DRAFT:
            raise _status_conflict(
                current, _("Only a draft assessment can be changed; this one is %(status)s.")
            )
        if current.note != note:
            current.note = note
            current.save(update_fields=["note", "updated_at"])
        return current


# --- ratings -----------------------------------------------------------------------------------------------
def _clean_ratings(ratings, criteria: dict[str, Criterion]) -> list[tuple[Criterion, Decimal | None, str]]:
    if not isinstance(ratings, list | tuple):
        raise Invalid(fields={"ratings": [_("Send a list of ratings.")]})
    errors = FieldErrors()
    cleaned: list[tuple[Criterion, Decimal | None, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(ratings):
        where = f"ratings[{i}]"
        if not isinstance(item, dict):
            errors.add(where, _("Each rating has a criterion key, a value and an optional rationale."))
            continue
        key = item.get("criterion")
        criterion = criteria.get(key) if isinstance(key, str) else None
        if criterion is None:
            errors.add(where, _("Unknown criterion “%(key)s” for this rubric version.") % {"key": key})
            continue
        if key in seen:
            errors.add(where, _("“%(key)s” is rated more than once.") % {"key": key})
            continue
        seen.add(key)
        if criterion.source == CriterionSource.COMPUTED:
            errors.add(where, _("“%(key)s” is computed from data and cannot be rated.") % {"key": key})
            continue
        raw = item.get("value")
        value = None
        if raw is not None and raw != "":
            try:
                if isinstance(raw, bool):
                    raise InvalidOperation
                value = Decimal(str(raw))
            except (InvalidOperation, ValueError):
                errors.add(where, _("The rating must be a number."))
                continue
            if not value.is_finite() or not criterion.scale_min <= value <= criterion.scale_max:
                errors.add(
                    where,
                    _("“%(key)s” is rated from %(lo)s to %(hi)s.")
                    % {"key": key, "lo": criterion.scale_min, "hi": criterion.scale_max},
                )
                continue
            if value != value.quantize(Decimal("0.01")):
                errors.add(where, _("A rating has at most two decimals."))
                continue
        rationale = item.get("rationale") or ""
        if not isinstance(rationale, str) or len(rationale) > MAX_RATIONALE:
            errors.add(where, _("A rationale is text of at most %(n)d characters.") % {"n": MAX_RATIONALE})
            continue
        cleaned.append((criterion, value, rationale))
    errors.raise_if_any()
    return cleaned


def assessment_check_ratings(*, user, assessment: Assessment | int, ratings: list[dict]) -> None:
    """Every check of ``assessment_set_ratings``, writing nothing (a form shows the messages by its fields)."""
    current = Assessment.objects.select_related("initiative").get(pk=getattr(assessment, "pk", assessment))
    require_bank_role(user, current.initiative.bank_id, min_role=RATE_ROLE)
    if current.status != AssessmentStatus.DRAFT:
        raise _status_conflict(
            current,
            _("Only a draft assessment can be rated; this one is %(status)s, so its ratings are frozen."),
        )
    _clean_ratings(
        ratings, {c.key: c for c in Criterion.objects.filter(version_id=current.rubric_version_id)}
    )


def assessment_set_ratings(*, user, assessment: Assessment | int, ratings: list[dict]) -> list[Rating]:
    """Upsert ratings ``[{criterion: key, value: number or None, rationale}]`` of a draft; all or nothing.

    Ratings not sent keep their values. The user joins the assessment's raters, who may not approve it.
    """
    with transaction.atomic():
        current = _locked(assessment)
        require_bank_role(user, current.initiative.bank_id, min_role=RATE_ROLE)
        if current.status != AssessmentStatus.DRAFT:
            raise _status_conflict(
                current,
                _("Only a draft assessment can be rated; this one is %(status)s, so its ratings are frozen."),
            )
        criteria = {c.key: c for c in Criterion.objects.filter(version_id=current.rubric_version_id)}
        cleaned = _clean_ratings(ratings, criteria)
        existing = {r.criterion_id: r for r in Rating.objects.filter(assessment=current)}
        saved = []
        for criterion, value, rationale in cleaned:
            rating = existing.get(criterion.pk) or Rating(assessment=current, criterion=criterion)
            if rating.pk is None or (rating.value, rating.rationale) != (value, rationale):
                rating.value, rating.rationale = value, rationale
                rating.save()
            saved.append(rating)
        if cleaned and not is_system(user):
            current.raters.add(user)
        current.save(update_fields=["updated_at"])
    return saved


# --- transitions -------------------------------------------------------------------------------------------
def unrated_gates(assessment: Assessment) -> list[Criterion]:
    """The rated gate criteria of the assessment's version that have no rating value yet."""
    rated = set(
        Rating.objects.filter(assessment=assessment, value__isnull=False).values_list(
            "criterion_id", flat=True
        )
    )
    gates = Criterion.objects.filter(
        version_id=assessment.rubric_version_id, is_gate=True, source=CriterionSource.RATED
    ).order_by("position")
    return [c for c in gates if c.pk not in rated]


def assessment_submit(*, user, assessment: Assessment | int) -> Assessment:
    """draft → submitted (analyst role); refused while a gate criterion is unrated."""
    with transaction.atomic():
        current = _locked(assessment)
        require_bank_role(user, current.initiative.bank_id, min_role=RATE_ROLE)
        if current.status != AssessmentStatus.DRAFT:
            raise _status_conflict(current, _("Only a draft can be submitted; this one is %(status)s."))
        missing = unrated_gates(current)
        if missing:
            raise Invalid(
                fields={
                    f"ratings.{c.key}": [
                        _("“%(name)s” is a gate (at least %(threshold)s): rate it before submitting.")
                        % {"name": c.name, "threshold": _number(c.gate_threshold)}
                    ]
                    for c in missing
                }
            )
        current.status = AssessmentStatus.SUBMITTED
        current.submitted_at = timezone.now()
        current.save(update_fields=["status", "submitted_at", "updated_at"])
        return current


def _number(value) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def may_approve(user, assessment: Assessment) -> bool:
    """Whether the user could approve the assessment now (the admin shows the button only then)."""
    try:
        _check_approver(user, assessment)
    except (Forbidden, Conflict, NotFound):  # NotFound: another bank's assessment
        return False
    return assessment.status == AssessmentStatus.SUBMITTED


def _check_approver(user, assessment: Assessment) -> None:
    if is_system(user):
        raise Forbidden(_("An approval needs a person: a manager of the bank."))
    require_bank_role(
        user,
        assessment.initiative.bank_id,
        min_role=APPROVE_ROLE,
        message=_("Only a manager of this bank can approve assessments."),
    )
    from ..selectors import assessments_four_eyes  # the selectors read with this module's roles

    if not assessments_four_eyes(Assessment.objects.filter(pk=assessment.pk), user).exists():
        if assessment.author_id == user.pk:
            raise Forbidden(_("An assessment is approved by someone other than its author (four eyes)."))
        raise Forbidden(_("You rated this assessment, so someone else approves it (four eyes)."))


def assessment_approve(*, user, assessment: Assessment | int):
    """submitted → approved by a manager who neither wrote nor rated it; queues the initiative's re-scoring."""
    from .jobs import score_job_create
    from .webhook_events import assessment_approved_emit

    with transaction.atomic():
        current = _locked(assessment)
        _check_approver(user, current)
        if current.status != AssessmentStatus.SUBMITTED:
            raise _status_conflict(
                current, _("Only a submitted assessment can be approved; this one is %(status)s.")
            )
        current.status = AssessmentStatus.APPROVED
        current.approved_by = user
        current.approved_at = timezone.now()
        current.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        job = score_job_create(
            requested_by=user,
            bank_id=current.initiative.bank_id,
            initiative_ids=[current.initiative_id],
            kind=JobKind.APPROVAL,
        )
        assessment_approved_emit(assessment=current, job=job)  # webhooks, in this transaction
    return current, job


def may_return(user, assessment: Assessment) -> bool:
    return assessment.status == AssessmentStatus.SUBMITTED and (
        actor_has_bank_role(user, assessment.initiative.bank_id, min_role=APPROVE_ROLE)
        or (getattr(user, "pk", None) == assessment.author_id)
    )


def assessment_return(*, user, assessment: Assessment | int, reason: str) -> Assessment:
    """submitted → draft with a reason, by a manager of the bank or by the author (withdrawing it)."""
    reason = (reason or "").strip() if isinstance(reason, str | type(None)) else None
    if not reason or len(reason) > MAX_REASON:
        raise Invalid(
            fields={"reason": [_("Say why it goes back, in at most %(n)d characters.") % {"n": MAX_REASON}]}
        )
    with transaction.atomic():
        current = _locked(assessment)
        if is_system(user) or current.author_id != user.pk:
            require_bank_role(
                user,
                current.initiative.bank_id,
                min_role=APPROVE_ROLE,
                message=_("A manager of this bank, or the author, returns an assessment to draft."),
            )
        if current.status != AssessmentStatus.SUBMITTED:
            raise _status_conflict(
                current, _("Only a submitted assessment can be returned to draft; this one is %(status)s.")
            )
        current.status = AssessmentStatus.DRAFT
        current.submitted_at = None
        current.returned_reason = reason
        current.returned_by = user
        current.returned_at = timezone.now()
        current.save(
            update_fields=[
                "status",
                "submitted_at",
                "returned_reason",
                "returned_by",
                "returned_at",
                "updated_at",
            ]
        )
        return current
