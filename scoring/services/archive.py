"""What the scoring app carries in a bank's archive (``partnerships.services.archive`` has the format).

Assessments with their raters and ratings, checklist answers, finished score jobs, scores and current scores, and
the bank's reports; rubric versions, criteria and checklist items are reference data, named by natural key and
compared by checksum. Every row is written by the archive's restore, not by the scoring services, because those
would alter or refuse history: ``assessment_create`` makes a draft by the acting user, ``assessment_set_ratings``
refuses ratings of a submitted or approved assessment, ``checklist_answers_set`` stamps the time and the actor,
a Score is only ever computed (``compute.score_initiatives``) and never written from outside, and score jobs and
reports are written by the workers.
"""

from __future__ import annotations

import copy
import hashlib
import json

from django.utils.translation import gettext as _

from partnerships.models import Bank
from partnerships.services.archive import ArchiveError, ArchivePart, ModelSpec, ReferenceKind

from ..choices import JobStatus
from ..models import (
    Assessment,
    ChecklistAnswer,
    ChecklistItem,
    Criterion,
    CurrentScore,
    Rating,
    Report,
    RubricVersion,
    Score,
    ScoreJob,
)

INITIATIVE = "partnerships.Initiative"
KPI = "partnerships.KPI"
MONITORING_EVENT = "partnerships.MonitoringEvent"  # the report's open monitoring events (issue 14)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


# --- Reference data: rubric versions, criteria, checklist items -------------------------------------------------
def _version_fingerprint(version: RubricVersion) -> dict:
    """The loader's checksum and a digest of what scores depend on: the method's parameters and the criteria."""
    criteria = sorted(
        [
            c.key,
            str(c.weight),
            c.scale_min,
            c.scale_max,
            c.is_gate,
            None if c.gate_threshold is None else str(c.gate_threshold),
            c.source,
            c.computed_from,
            c.capped_by,
        ]
        for c in version.criteria.all()
    )
    method = [
        str(version.tier_a),
        str(version.tier_b),
        str(version.tier_c),
        str(version.confidence_threshold),
    ]
    blob = json.dumps([method, criteria], separators=(",", ":"))
    return {"source_checksum": version.source_checksum, "content": hashlib.sha256(blob.encode()).hexdigest()}


def _references() -> list[ReferenceKind]:
    return [
        ReferenceKind(
            "rubric_version",
            RubricVersion,
            key=lambda v: [v.rubric.code, v.number],
            fetch=lambda: RubricVersion.objects.select_related("rubric").prefetch_related("criteria"),
            describe=lambda k: _("rubric %(rubric)s version %(number)s") % {"rubric": k[0], "number": k[1]},
            fingerprint=_version_fingerprint,
        ),
        ReferenceKind(
            # Its version's fingerprint covers the criterion's terms; here it only has to exist.
            "criterion",
            Criterion,
            key=lambda c: [c.version.rubric.code, c.version.number, c.key],
            fetch=lambda: Criterion.objects.select_related("version__rubric"),
            describe=lambda k: (
                _("criterion %(key)s of rubric %(rubric)s version %(number)s")
                % {"key": k[2], "rubric": k[0], "number": k[1]}
            ),
        ),
        ReferenceKind(
            "checklist_item",
            ChecklistItem,
            key=lambda i: [i.version.urn, i.version.number, i.key],
            fetch=lambda: ChecklistItem.objects.select_related("version"),
            describe=lambda k: (
                _("item %(key)s of checklist %(urn)s version %(number)s")
                % {"key": k[2], "urn": k[0], "number": k[1]}
            ),
            fingerprint=lambda i: {"checklist_checksum": i.version.source_checksum, "level": i.level},
        ),
    ]


# --- Score jobs: their initiative ids are database ids -------------------------------------------------------------
def _job_out(ctx, row: dict, source: dict) -> None:
    ids = row.get("initiative_ids")
    if ids is not None:
        # An initiative deleted since the job ran has no row in the archive: it is left out of the list.
        row["initiative_ids"] = sorted(
            local for local in (ctx.local_id(INITIATIVE, pk) for pk in ids) if local is not None
        )


def _job_in(ctx, row: dict) -> dict:
    ids = row.get("initiative_ids")
    if ids is not None:
        row["initiative_ids"] = sorted(_pk_here(ctx, INITIATIVE, local, "initiative_ids") for local in ids)
    return row


def _pk_here(ctx, label: str, local, where: str):
    pk = ctx.target_pk(label, local)
    if pk is None:
        raise ArchiveError(
            _("%(field)s names %(model)s %(id)s, which the archive does not hold.")
            % {"field": where, "model": label, "id": local}
        )
    return pk


def _unfinished_jobs(bank: Bank) -> list[str]:
    return [
        _("score job %(id)s (%(status)s) is not carried: ask for a re-score after the import.")
        % {"id": job_id, "status": JobStatus(status).label}
        for job_id, status in ScoreJob.objects.filter(bank=bank)
        .exclude(status__in=FINISHED)
        .order_by("created_at")
        .values_list("id", "status")
    ]


# --- Reports: the payload names initiatives, KPIs and the previous report by database id ---------------------------
# (scoring.reports.build documents the payload.) Archive-local ids go out, this installation's ids come back in, so
# the next report's movers compare like with like. A key ending in "_id" that holds a number and is not one of these
# stops the export: a new id in the payload must be taught here rather than carried stale.
def _walk(value, on_id, path: str = "payload"):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            if (
                isinstance(key, str)
                and key.endswith("_id")
                and isinstance(item, int)
                and not isinstance(item, bool)
            ):
                out[key] = on_id(key, item, where)
            else:
                out[key] = _walk(item, on_id, where)
        return out
    if isinstance(value, list):
        return [_walk(item, on_id, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _report_out(ctx, row: dict, source: dict) -> None:
    payload = row.get("payload")
    if not isinstance(payload, dict):
        return

    def on_id(key, value, where):
        if key == "initiative_id":
            return ctx.local_id(INITIATIVE, value)  # None: an initiative deleted since the report
        if key == "kpi_id":
            return ctx.local_id(KPI, value)
        if key == "event_id":
            return ctx.local_id(MONITORING_EVENT, value)
        if key == "partner_id":
            return ctx.reference("partner", value)
        if key == "bank_id" and where == "payload.scope.bank_id":
            return None  # the bank is implied; the import writes its id here
        raise ArchiveError(
            _("Report of %(period)s: %(where)s holds a database id the archive does not know how to carry.")
            % {"period": row.get("period_start"), "where": where}
        )

    payload = _walk(payload, on_id)
    totals = payload.get("totals")
    if isinstance(totals, dict):
        mapped = {}
        for key, total in totals.items():
            local = ctx.local_id(INITIATIVE, int(key)) if str(key).isdigit() else None
            if local is not None:
                mapped[str(local)] = total
        payload["totals"] = mapped
    previous = (payload.get("movers") or {}).get("previous_report")
    if isinstance(previous, dict) and isinstance(previous.get("id"), int):
        previous["id"] = ctx.local_id(Report._meta.label, previous["id"])
    row["payload"] = payload


def _report_in(ctx, row: dict) -> dict:
    payload = row.get("payload")
    if not isinstance(payload, dict):
        return row
    payload = copy.deepcopy(payload)

    def on_id(key, value, where):
        if key == "initiative_id":
            return _pk_here(ctx, INITIATIVE, value, where)
        if key == "kpi_id":
            return _pk_here(ctx, KPI, value, where)
        if key == "event_id":
            return _pk_here(ctx, MONITORING_EVENT, value, where)
        raise ArchiveError(_("%(where)s holds an id the archive does not know.") % {"where": where})

    payload = _walk(payload, on_id)
    _partners_in(ctx, payload)
    scope = payload.get("scope")
    if isinstance(scope, dict) and "bank_id" in scope:
        scope["bank_id"] = ctx.bank.pk
    totals = payload.get("totals")
    if isinstance(totals, dict):
        payload["totals"] = {
            str(_pk_here(ctx, INITIATIVE, int(key), "payload.totals")): total for key, total in totals.items()
        }
    row["payload"] = payload
    return row


def _partners_in(ctx, value) -> None:
    """``partner_id`` travels as the partner's key (a string, which ``_walk`` leaves alone): its id here."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "partner_id" and isinstance(item, str):
                value[key] = ctx.reference("partner", item)
            else:
                _partners_in(ctx, item)
    elif isinstance(value, list):
        for item in value:
            _partners_in(ctx, item)


def _reports_after(ctx, reports: list[Report], rows: list[dict]) -> None:
    """The previous report a report's movers compare with is one of the imported reports: its id is known now."""
    changed = []
    for report in reports:
        previous = (report.payload or {}).get("movers", {}).get("previous_report")
        if isinstance(previous, dict) and isinstance(previous.get("id"), int):
            previous["id"] = ctx.target_pk(Report._meta.label, previous["id"])
            changed.append(report)
    if changed:
        Report.objects.bulk_update(changed, ["payload"], batch_size=200)


def scoring_archive_part() -> ArchivePart:
    """Scoring's models in the order the import writes them (after partnerships'), its reference data, and what
    it leaves out."""

    def for_bank(model):
        return lambda bank: model.objects.for_bank(bank.pk)

    specs = [
        ModelSpec(Assessment, for_bank(Assessment), m2m=("raters",)),
        ModelSpec(Rating, for_bank(Rating)),
        ModelSpec(ChecklistAnswer, for_bank(ChecklistAnswer)),
        ModelSpec(
            ScoreJob,
            lambda bank: ScoreJob.objects.for_bank(bank.pk).filter(status__in=FINISHED),
            order=("created_at",),
            export_hook=_job_out,
            import_hook=_job_in,
        ),
        ModelSpec(
            Score,
            for_bank(Score),
            # A job across banks (publishing re-scores every bank) or one still running is not in the archive.
            outside_to_null=("job",),
        ),
        ModelSpec(CurrentScore, for_bank(CurrentScore), order=("initiative",)),
        ModelSpec(
            Report,
            for_bank(Report),
            export_hook=_report_out,
            import_hook=_report_in,
            after_import=_reports_after,
        ),
    ]
    not_carried = {
        ScoreJob._meta.label + " (queued or running)": (
            "work in flight belongs to the source's workers; the export names it, ask for a re-score after the "
            "import"
        ),
        "scoring.ScoreJobChunk": (
            "the execution plan of a score job (database ids in chunks); a finished job keeps its counts"
        ),
        "scoring.LastApproval": (
            "a database view computed from the assessments, which are carried: it has no rows of its own"
        ),
        "scoring.SevereSinceApproval": (
            "a database view computed from the monitoring events and assessments, which are carried: no rows of its own"
        ),
    }
    return ArchivePart(
        specs=specs, references=_references(), not_carried=not_carried, unfinished=[_unfinished_jobs]
    )
