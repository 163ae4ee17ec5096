"""Seeding the scoring side of the demo: default rubrics, the illustrative assessments, scores for all.

Runs inside seed_demo's transaction (through the demo_data_seeded signal) and is idempotent: rubrics, the
regulatory checklists and the regulator's exposure limits load by checksum or version, an assessment is created only when the initiative has none by its author,
and a score job is asked for only when some demo initiative has no score and no rubric was just published
(publishing re-scores).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from partnerships.errors import ServiceError
from partnerships.models import Initiative
from partnerships.services.limit_register import limits_load

from ..choices import AssessmentStatus, CriterionSource, VersionStatus
from ..models import Assessment, Criterion, CurrentScore
from .assessments import assessment_approve, assessment_create, assessment_set_ratings, assessment_submit
from .checklists import checklists_load
from .jobs import score_job_request
from .rubrics import rubrics_load

DEMO_ASSESSMENTS = Path(settings.BASE_DIR) / "fixtures" / "demo_assessments.yaml"


class DemoAssessmentError(ValueError):
    pass


def _load_assessments(path: Path) -> int:
    if not path.exists():
        return 0
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="demo_")}
    initiatives = {(i.bank.code, i.code): i for i in Initiative.objects.select_related("bank")}
    versions = {}
    for c in Criterion.objects.filter(
        version__status=VersionStatus.PUBLISHED, version__rubric__is_default=True
    ).select_related("version__rubric"):
        versions.setdefault(c.version.rubric.pillar_id, (c.version, {}))[1][c.key] = c
    created = 0
    for n, entry in enumerate(data.get("assessments") or []):
        where = f"{path.name}: assessments[{n}]"
        initiative = initiatives.get((entry.get("bank"), entry.get("initiative")))
        author = users.get(entry.get("author"))
        if initiative is None or author is None:
            raise DemoAssessmentError(f"{where}: unknown bank/initiative or author")
        version, criteria = versions[initiative.pillar_id]
        if Assessment.objects.filter(initiative=initiative, rubric_version=version, author=author).exists():
            continue
        status = entry.get("status", AssessmentStatus.DRAFT)
        ratings = []
        for key, rating in (entry.get("ratings") or {}).items():
            criterion = criteria.get(key)
            if criterion is None or criterion.source != CriterionSource.RATED:
                raise DemoAssessmentError(
                    f"{where}: ratings.{key}: not a rated criterion of the {initiative.pillar_id} rubric"
                )
            value = rating.get("value")
            if not isinstance(value, int) or not criterion.scale_min <= value <= criterion.scale_max:
                raise DemoAssessmentError(
                    f"{where}: ratings.{key}.value: must be an integer within the scale"
                )
            ratings.append({"criterion": key, "value": value, "rationale": rating.get("rationale", "")})
        # The demo goes through the lifecycle like anyone: the author rates and submits, another manager approves.
        try:
            assessment = assessment_create(
                user=author, initiative=initiative, rubric_version=version, note=entry.get("note", "")
            )
            if ratings:
                assessment_set_ratings(user=author, assessment=assessment, ratings=ratings)
            if status in (AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED):
                assessment_submit(user=author, assessment=assessment)
            if status == AssessmentStatus.APPROVED:
                approver = users.get(entry.get("approved_by"))
                if approver is None:
                    raise DemoAssessmentError(f"{where}: approved_by: unknown user")
                assessment_approve(user=approver, assessment=assessment)
        except ServiceError as exc:
            raise DemoAssessmentError(f"{where}: {'; '.join(exc.messages())}") from exc
        created += 1
    return created


def _load_checklists(path: Path) -> int:
    """Demo checklist answers (``checklists:`` of the assessments file): every item of the listed levels met, with
    a demo evidence link of the initiative. Through the evidence and checklist services; answering again is a
    no-op for answers that are already so."""
    from partnerships.models import Evidence
    from partnerships.services.evidence import evidence_create

    from .checklists import checklist_answers_set, current_checklists

    if not path.exists():
        return 0
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    initiatives = {(i.bank.code, i.code): i for i in Initiative.objects.select_related("bank")}
    current = current_checklists()
    answered = 0
    for n, entry in enumerate(data.get("checklists") or []):
        where = f"{path.name}: checklists[{n}]"
        initiative = initiatives.get((entry.get("bank"), entry.get("initiative")))
        if initiative is None or initiative.pillar_id not in current:
            raise DemoAssessmentError(f"{where}: unknown bank/initiative, or no checklist for its pillar")
        url = f"https://example.com/demo-evidence/{initiative.bank.code}/{initiative.code}/checklist"
        try:
            evidence = Evidence.objects.filter(initiative=initiative, url=url).first() or evidence_create(
                user=None, initiative=initiative, data={"kind": "link", "url": url, "note": "演示佐证材料"}
            )
            items = current[initiative.pillar_id].items.filter(level__in=entry.get("levels") or [])
            checklist_answers_set(
                user=None,
                initiative=initiative,
                answers=[
                    {
                        "item": i.key,
                        "answer": "met",
                        "evidence": evidence.pk,
                        "expires_on": entry.get("expires_on"),
                    }
                    for i in items
                ],
            )
        except ServiceError as exc:
            raise DemoAssessmentError(f"{where}: {'; '.join(exc.messages())}") from exc
        answered += 1
    return answered


def demo_scoring_seed(*, demo: bool, assessments_path: Path = DEMO_ASSESSMENTS) -> list[str]:
    report = rubrics_load()
    checklists = checklists_load()  # reference data like the rubrics: the regulatory checklist per pillar
    limits = limits_load()  # the regulator's exposure limits (partnerships.services.limit_register), as files
    # Lines for seed_demo's summary, in the command's language like the rest of it.
    lines = [
        _(
            "rubric versions: %(created)d loaded (%(published)d published, the rest as drafts), %(unchanged)d unchanged"
        )
        % {
            "created": len(report.created),
            "published": len(report.published),
            "unchanged": len(report.unchanged),
        },
        _("regulatory checklists: %(created)d loaded, %(unchanged)d unchanged")
        % {"created": len(checklists.created), "unchanged": len(checklists.unchanged)},
        _("exposure limits: %(created)d loaded, %(unchanged)d unchanged")
        % {"created": len(limits.created), "unchanged": len(limits.unchanged)},
    ]
    if not demo:
        return lines
    created = _load_assessments(assessments_path)
    lines.append(_("demo assessments: %(created)d created") % {"created": created})
    _load_checklists(assessments_path)
    # The lifecycle (issue 14) after the assessments, so that its monitoring event post-dates their approval.
    from partnerships.services.seed_lifecycle import lifecycle_demo_seed

    lifecycle = lifecycle_demo_seed()
    lines.append(
        _("demo contracts and monitoring events: %(contracts)d contracts written, %(events)d events created")
        % lifecycle
    )
    if lifecycle["contracts"] or lifecycle["events"]:
        created = created or 1  # score every demo initiative again: their caps changed
    if report.created:
        lines.append(_("scores: the published rubrics' re-score jobs will score every initiative"))
        return lines
    unscored = list(
        Initiative.objects.filter(is_illustrative=True)
        .exclude(pk__in=CurrentScore.objects.values("initiative_id"))
        .values_list("pk", flat=True)
    )
    if unscored or created:
        ids = (
            list(Initiative.objects.filter(is_illustrative=True).values_list("pk", flat=True))
            if created
            else unscored
        )
        job = score_job_request(user=None, initiative_ids=ids)
        lines.append(
            _("scores: job %(job)s queued for %(count)d initiative(s)") % {"job": job.pk, "count": len(ids)}
        )
    return lines
