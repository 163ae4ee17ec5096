"""Score jobs: created with the request, enqueued on commit, planned into chunks, swept when left behind.

Delivery guarantees:
- A job row is written in the request's transaction and enqueued only after commit; a failure to reach the
  broker leaves it ``queued`` (the request still gets its job), and the periodic sweeper enqueues it again.
- Chunks are processed under a row lock and marked done in the same transaction as their Scores, so a
  redelivered task (worker killed, ``acks_late``) finds its chunk done or redoes it whole — never half.
- Scores are unique per (initiative, rubric version, inputs hash): a repeat writes no second Score.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Sum, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from config.ops.request_id import current_request_id, request_id_as
from partnerships.errors import Conflict, Invalid
from partnerships.models import Initiative
from partnerships.services.limits import bank_limits_annotations, bank_limits_row
from partnerships.services.webhooks import webhook_endpoints_exist
from partnerships.tenancy import is_system, user_bank_ids

from ..choices import JobKind, JobStatus, VersionStatus
from ..models import Rubric, RubricVersion, ScoreJob, ScoreJobChunk
from ..sources import kpis_folded_sql, kpis_from_json
from .compute import (
    INITIATIVE_COLUMNS,
    published_version_ids_by_pillar,
    published_versions_expression,
    published_versions_from,
    score_initiatives,
)
from .webhook_events import scores_created_emit

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
MAX_JOB_INITIATIVES = 10_000
SCORE_ROLE = "analyst"
QUEUED_GRACE = timedelta(seconds=30)  # a queued job not picked up after this is enqueued again…
REENQUEUE_AFTER = timedelta(minutes=2)  # …and again after this, if it is still waiting
RUNNING_STALE_AFTER = timedelta(minutes=15)  # longer than a chunk's hard time limit


def _ids_text(ids) -> str:
    ids = list(ids)
    return ", ".join(map(str, ids[:50])) + (" …" if len(ids) > 50 else "")


def score_job_request(
    *,
    user,
    initiative_ids: list[int] | None,
    rubric_version: RubricVersion | int | None = None,
    kind: str = JobKind.REQUEST,
    field: str = "initiatives",
) -> ScoreJob:
    """Someone asks for scores: the one door of the API, the admin and ``manage.py score``.

    ``initiative_ids`` None means every initiative the user may score (the system: every bank; with a rubric
    version, of its pillar). The initiatives must be ones the user may score (analyst role in their bank), of one
    bank unless the user is a superuser or the system; a rubric version must exist, be published or retired (a
    draft is tried with the preview, never stored) and be of every initiative's pillar; without one, each pillar
    needs a published rubric. Raises Invalid / Conflict; otherwise the job is recorded and enqueued on commit.
    """
    version = None
    if rubric_version is not None:
        pk = getattr(rubric_version, "pk", rubric_version)
        version = (
            RubricVersion.objects.select_related("rubric").filter(pk=pk).first()
            if isinstance(pk, int) and not isinstance(pk, bool)
            else None
        )
        if version is None:
            raise Invalid(fields={"rubric_version": [_("No such rubric version.")]})
        if version.status == VersionStatus.DRAFT:
            raise Invalid(
                fields={
                    "rubric_version": [
                        _(
                            "A draft rubric version does not score stored initiatives; try it with the preview."
                        )
                    ]
                }
            )
    allowed = user_bank_ids(user, min_role=SCORE_ROLE)
    scope = (
        Initiative.objects.all()
        if allowed is None
        else Initiative.objects.for_user(user, min_role=SCORE_ROLE)
    )
    if initiative_ids is None:
        if allowed is not None and len(allowed) != 1:
            raise Invalid(fields={field: [_("Name the initiatives to score, all of one bank.")]})
        bank_id = next(iter(allowed)) if allowed else None
        pillar = version.rubric.pillar_id if version else ""
        return score_job_create(
            requested_by=None if is_system(user) else user,
            bank_id=bank_id,
            rubric_version=version,
            pillar=pillar,
            kind=kind,
        )
    if (
        not isinstance(initiative_ids, list | tuple)
        or not initiative_ids
        or any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in initiative_ids)
    ):
        raise Invalid(fields={field: [_("Give one or more initiative ids.")]})
    ids = sorted(set(initiative_ids))
    if len(ids) > MAX_JOB_INITIATIVES:
        raise Invalid(fields={field: [_("At most %(n)d initiatives a job.") % {"n": MAX_JOB_INITIATIVES}]})
    rows = {
        iid: (bank_id, pillar)
        for iid, bank_id, pillar in scope.filter(id__in=ids).values_list("id", "bank_id", "pillar_id")
    }
    refused = [i for i in ids if i not in rows]
    if refused:
        raise Invalid(
            fields={
                field: [
                    _("Not among the initiatives you may score (analyst role in their bank): %(ids)s.")
                    % {"ids": _ids_text(refused)}
                ]
            }
        )
    banks = sorted({bank_id for bank_id, _pillar in rows.values()})
    superuser = allowed is None
    if len(banks) > 1 and not superuser:
        raise Invalid(fields={field: [_("A job scores initiatives of one bank; send one request per bank.")]})
    pillars = {pillar for _bank, pillar in rows.values()}
    if version is not None:
        check_version_pillar(version, rows)
    else:
        missing = sorted(pillars - set(published_version_ids_by_pillar()))
        if missing:
            raise Conflict(
                _("No rubric is published for the pillar %(pillar)s yet.") % {"pillar": "、".join(missing)}
            )
    return score_job_create(
        requested_by=None if is_system(user) else user,
        bank_id=banks[0] if len(banks) == 1 else None,
        initiative_ids=ids,
        rubric_version=version,
        pillar=version.rubric.pillar_id if version else "",
        kind=kind,
    )


def check_version_pillar(version: RubricVersion, rows: dict[int, tuple[int, str]]) -> None:
    """Every initiative scored against a given version is of that version's pillar."""
    other = [iid for iid, (_bank, pillar) in rows.items() if pillar != version.rubric.pillar_id]
    if other:
        raise Invalid(
            fields={
                "rubric_version": [
                    _("Initiatives %(ids)s are not of this rubric version's pillar %(pillar)s.")
                    % {"ids": _ids_text(other), "pillar": version.rubric.pillar_id}
                ]
            }
        )


def score_job_create(
    *,
    requested_by=None,
    bank_id: int | None,
    initiative_ids: list[int] | None = None,
    rubric_version: RubricVersion | None = None,
    pillar: str = "",
    kind: str = JobKind.REQUEST,
) -> ScoreJob:
    """Record a scoring job and enqueue it once the surrounding transaction commits.

    The services call this after their own checks (``score_job_request``, approvals, publishing, the sweeper);
    it still refuses a rubric version of another pillar than the initiatives it is given.
    """
    if rubric_version is not None and initiative_ids:
        rows = dict(
            (iid, (bank_id, pillar))
            for iid, bank_id, pillar in Initiative.objects.filter(id__in=initiative_ids).values_list(
                "id", "bank_id", "pillar_id"
            )
        )
        check_version_pillar(rubric_version, rows)
    job = ScoreJob.objects.create(
        bank_id=bank_id,
        requested_by=requested_by,
        request_id=current_request_id(),  # the request's (or task's) X-Request-ID, also on its log lines
        initiative_ids=sorted(set(initiative_ids)) if initiative_ids is not None else None,
        rubric_version=rubric_version,
        pillar=pillar,
        kind=kind,
        total=len(set(initiative_ids)) if initiative_ids is not None else 0,
    )
    transaction.on_commit(lambda: score_job_enqueue(job.pk), robust=True)
    return job


def score_job_enqueue(job_id, *, request_id: str = "") -> bool:
    """Send the job to the broker; False (and the job stays queued for the sweeper) if the broker is down.

    The task carries the current request id (ops.request_id); the sweeper passes the job's own ``request_id``,
    so a job sent again still logs under the id of the request that asked for it.
    """
    from ..tasks import score_job_run_task

    try:
        with request_id_as(request_id):
            score_job_run_task.apply_async(args=[str(job_id)], retry=True, retry_policy={"max_retries": 1})
    except Exception as exc:  # kombu / redis raise many kinds; any failure means "not enqueued"
        logger.warning("score job %s not enqueued (broker unavailable?): %s", job_id, exc)
        return False
    ScoreJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    return True


def _scope_ids(job: ScoreJob):
    return _scope(job).values_list("bank_id", "id")


def _scope(job: ScoreJob):
    """The job's initiatives, by bank then id."""
    qs = Initiative.objects.all()
    if job.bank_id is not None:
        qs = qs.for_bank(job.bank_id)
    if job.initiative_ids is not None:
        qs = qs.filter(id__in=job.initiative_ids)
    pillar = job.pillar or (job.rubric_version.rubric.pillar_id if job.rubric_version_id else "")
    if pillar:
        qs = qs.filter(pillar_id=pillar)
    return qs.order_by("bank_id", "id")


# PostgreSQL: ``_scope(job)``'s first ``CHUNK_SIZE + 1`` rows of ``("bank_id", *INITIATIVE_COLUMNS)`` as JSON text,
# each with its KPIs as the KPI sources read them on the job's scoring date (scoring.sources.KPIS_FOLDED), a
# subquery of the job's own locked read (its columns are the job's). The same filters, order and limit. Three
# branches, so that each is planned on an index: the job's ids (the primary key's index, ``= ANY`` of the array; none
# without ids), every initiative of its bank (without ids; skipped by a one-time filter otherwise), every
# initiative (without ids or bank; likewise); then its pillar (or its rubric version's) when it has one.
_SCOPE_FOLDED = """(
SELECT json_agg(json_build_array({columns}, {kpis}) ORDER BY s.bank_id, s.id)::text FROM (
    SELECT i.* FROM (
        SELECT i.* FROM {initiative} i
        WHERE i.id = ANY(ARRAY(SELECT e::bigint FROM jsonb_array_elements_text({job}.initiative_ids) AS e))
          AND ({job}.bank_id IS NULL OR i.bank_id = {job}.bank_id)
        UNION ALL
        SELECT i.* FROM {initiative} i
        WHERE {job}.initiative_ids IS NULL AND {job}.bank_id IS NOT NULL AND i.bank_id = {job}.bank_id
        UNION ALL
        SELECT i.* FROM {initiative} i WHERE {job}.initiative_ids IS NULL AND {job}.bank_id IS NULL
    ) i
    WHERE COALESCE(NULLIF({job}.pillar, ''), (
              SELECT r.pillar_id FROM {version} v JOIN {rubric} r ON r.id = v.rubric_id
              WHERE v.id = {job}.rubric_version_id), '') IN ('', i.{pillar})
    ORDER BY i.bank_id, i.id
    LIMIT %s
) s)"""


def _scope_expression() -> RawSQL | None:
    """``_SCOPE_FOLDED`` for the job's locked read; None on other databases (the scope is read apart)."""
    if connection.vendor != "postgresql":
        return None
    qn = connection.ops.quote_name
    columns = [Initiative._meta.get_field(f).column for f in ("bank_id", *INITIATIVE_COLUMNS)]
    job = qn(ScoreJob._meta.db_table)
    sql = _SCOPE_FOLDED.format(
        columns=", ".join(f"s.{qn(c)}" for c in columns),
        # The job's scoring date: the day it was requested, in the current time zone (timezone.localdate).
        kpis=kpis_folded_sql("s", f"({job}.{qn('created_at')} AT TIME ZONE %s)::date"),
        initiative=qn(Initiative._meta.db_table),
        job=job,
        version=qn(RubricVersion._meta.db_table),
        rubric=qn(Rubric._meta.db_table),
        pillar=qn(Initiative._meta.get_field("pillar").column),
    )
    return RawSQL(sql, [timezone.get_current_timezone_name(), CHUNK_SIZE + 1], output_field=TextField())


def _locked_job(job_id, *, folded: bool = False) -> ScoreJob:
    """The job with its row locked (inside the caller's transaction), its rubric version read along.

    ``folded``: also ``bank_has_endpoints``, whether the job's bank has an active webhook endpoint
    (``webhook_endpoints_exist``; False for a job without a bank), the bank's row the limits read on the job's
    scoring date (``bank_limits_annotations``; none for a job without a bank), and on PostgreSQL ``published_versions``
    (``published_versions_expression``) and ``scope_rows`` (``_SCOPE_FOLDED``) — read here, not each by a
    statement of its own."""
    qs = ScoreJob.objects.select_for_update(of=("self",)).select_related("rubric_version__rubric")
    if folded:
        qs = qs.annotate(
            bank_has_endpoints=webhook_endpoints_exist("bank_id"),
            # The day it was requested in the current time zone: the scoring date (timezone.localdate).
            scoring_date=TruncDate("created_at"),
        ).annotate(**bank_limits_annotations(OuterRef("bank_id"), OuterRef("scoring_date")))
        published, scope = published_versions_expression(), _scope_expression()
        if published is not None and scope is not None:
            qs = qs.annotate(published_versions=published, scope_rows=scope)
    return qs.get(pk=job_id)


def score_job_plan(job_id) -> list[int]:
    """Split the job into chunks of one bank each (once), mark it running; return the chunks still to do."""
    with transaction.atomic():
        job = _locked_job(job_id)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return []
        if not job.chunks.exists():
            chunks: list[ScoreJobChunk] = []
            current_bank, ids, total = None, [], 0
            for bank_id, initiative_id in _scope_ids(job).iterator(chunk_size=5000):
                if ids and (bank_id != current_bank or len(ids) >= CHUNK_SIZE):
                    chunks.append(
                        ScoreJobChunk(job=job, index=len(chunks), bank_id=current_bank, initiative_ids=ids)
                    )
                    ids = []
                current_bank = bank_id
                ids.append(initiative_id)
                total += 1
            if ids:
                chunks.append(
                    ScoreJobChunk(job=job, index=len(chunks), bank_id=current_bank, initiative_ids=ids)
                )
            ScoreJobChunk.objects.bulk_create(chunks, batch_size=500)
            missing = (len(job.initiative_ids) - total) if job.initiative_ids is not None else 0
            job.total = total + max(missing, 0)
            if missing > 0:
                job.error = f"{missing} initiative(s) not found in scope"
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "total", "error", "updated_at"])
        pending = list(job.chunks.exclude(status=JobStatus.SUCCEEDED).values_list("id", flat=True))
    if not pending:
        score_job_finish_if_complete(job_id)
    return pending


def score_chunk_run(chunk_id: int) -> None:
    """Score one chunk under its row lock; a chunk already done is left alone (idempotent)."""
    with transaction.atomic():
        chunk = ScoreJobChunk.objects.select_for_update(of=("self",)).select_related("job").get(pk=chunk_id)
        if chunk.status == JobStatus.SUCCEEDED:
            return
        outcome = score_initiatives(
            bank_id=chunk.bank_id,
            initiative_ids=chunk.initiative_ids,
            rubric_version_id=chunk.job.rubric_version_id,
            job_id=chunk.job_id,
            # Every chunk of a job judges on the day it was requested, whenever it runs or is redelivered.
            as_of=timezone.localdate(chunk.job.created_at),
        )
        if outcome.created and chunk.bank_id is not None:  # webhooks: one score.created event a chunk
            scores_created_emit(
                bank_id=chunk.bank_id, job_id=chunk.job_id, initiative_ids=chunk.initiative_ids
            )
        if settings.SCORING_FAULT_DELAY:  # fault-injection tests only (see settings)
            time.sleep(settings.SCORING_FAULT_DELAY)
        chunk.status = JobStatus.SUCCEEDED
        chunk.scored = outcome.scored
        chunk.failed = outcome.failed
        chunk.scores_created = outcome.created
        chunk.error = "; ".join(f"{iid}: {msg}" for iid, msg in sorted(outcome.errors.items()))[:4000]
        chunk.finished_at = timezone.now()
        # Not the initiative ids (up to 500 in JSON): only what changed is written back.
        chunk.save(update_fields=["status", "scored", "failed", "scores_created", "error", "finished_at"])
    score_job_finish_if_complete(chunk.job_id)


def score_job_finish_if_complete(job_id) -> None:
    """Roll the chunks' counts up into the job; when no chunk is left, the job ends."""
    with transaction.atomic():
        job = ScoreJob.objects.select_for_update().get(pk=job_id)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return
        agg = job.chunks.aggregate(
            pending=Count("id", filter=~Q(status=JobStatus.SUCCEEDED)),
            scored=Sum("scored"),
            failed=Sum("failed"),
            created=Sum("scores_created"),
        )
        job.done = agg["scored"] or 0
        job.scores_created = agg["created"] or 0
        chunk_failed = agg["failed"] or 0
        fields = ["done", "failed", "scores_created", "updated_at"]
        if agg["pending"] == 0:
            not_found = max(job.total - job.done - chunk_failed, 0)  # asked for, but not in scope
            job.failed = chunk_failed + not_found
            errors = list(job.chunks.exclude(error="").values_list("error", flat=True)[:5])
            job.error = "; ".join([e for e in [job.error, *errors] if e])[:4000]
            job.status = JobStatus.FAILED if job.total and job.done == 0 else JobStatus.SUCCEEDED
            job.finished_at = timezone.now()
            fields += ["status", "error", "finished_at"]
        else:
            job.failed = chunk_failed
        job.save(update_fields=fields)


def score_job_fail(job_id, error: str) -> None:
    """Called when a task gives up after its retries: the job ends failed with the reason."""
    ScoreJob.objects.filter(pk=job_id).exclude(status=JobStatus.SUCCEEDED).update(
        status=JobStatus.FAILED, error=error[:4000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def score_job_run_single(job_id) -> bool:
    """A job not yet planned whose initiatives fit in one chunk of one bank: planned, scored and finished in one
    transaction, under the job's row lock. True when the job is done (by this call or before); False when it is
    not such a job (the caller plans it into chunks).

    why: a one-initiative job (an approval, an API request) is the common case and was 40-odd statements in
    three transactions. Here the job's row lock is what the chunk's lock is for several: a worker killed before
    the commit leaves the job queued with nothing written (the redelivered task does it whole); a redelivery
    after the commit finds it succeeded. Its one chunk row is written already done, so a job reads the same
    whichever way it ran.
    """
    with transaction.atomic():
        job = _locked_job(job_id, folded=True)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return True
        if job.status != JobStatus.QUEUED:
            # Chunks are written only with the status "running" (score_job_plan, here): a queued job has none.
            return False
        # The scope with what score_initiatives reads of each initiative: its read, folded into this one (same
        # rows: of this bank, among the job's ids) — on PostgreSQL read with the job already.
        scope, kpis = _single_scope(job)
        if not scope or len(scope) > CHUNK_SIZE or scope[0][0] != scope[-1][0]:  # ordered by bank: one bank?
            return False
        bank_id, ids = scope[0][0], [row[1] for row in scope]
        # The planned path's line, word for word: operators (and tests/ops) follow a job's request id by it.
        logger.info("score job %s: %d chunk(s) to score", job_id, 1)
        missing = (len(job.initiative_ids) - len(ids)) if job.initiative_ids is not None else 0
        limits_row = bank_limits_row(job)
        outcome = score_initiatives(
            bank_id=bank_id,
            initiative_ids=ids,
            rubric_version_id=job.rubric_version_id,
            job_id=job.pk,
            as_of=timezone.localdate(job.created_at),  # as score_chunk_run
            initiative_rows=[row[1:] for row in scope],
            kpis_read=kpis,
            bank_limits_read=({bank_id: limits_row} if limits_row and limits_row["pk"] == bank_id else None),
            rubric_version=job.rubric_version,
            published_versions=(
                published_versions_from(job.published_versions)
                if hasattr(job, "published_versions")
                else None
            ),
        )
        # No active endpoint in the job's bank (read with the job): nobody to tell, no read of the endpoints.
        if outcome.created and (job.bank_id != bank_id or job.bank_has_endpoints):
            scores_created_emit(bank_id=bank_id, job_id=job.pk, initiative_ids=ids)
        if settings.SCORING_FAULT_DELAY:  # fault-injection tests only (see settings)
            time.sleep(settings.SCORING_FAULT_DELAY)
        now = timezone.now()
        chunk_error = "; ".join(f"{iid}: {msg}" for iid, msg in sorted(outcome.errors.items()))[:4000]
        chunk = ScoreJobChunk(
            job=job,
            index=0,
            bank_id=bank_id,
            initiative_ids=ids,
            status=JobStatus.SUCCEEDED,
            scored=outcome.scored,
            failed=outcome.failed,
            scores_created=outcome.created,
            error=chunk_error,
            finished_at=now,
        )
        # The fields score_job_plan and score_job_finish_if_complete would leave, in one UPDATE.
        job.total = len(ids) + max(missing, 0)
        plan_error = f"{missing} initiative(s) not found in scope" if missing > 0 else job.error
        job.done = outcome.scored
        job.scores_created = outcome.created
        job.failed = outcome.failed + max(job.total - job.done - outcome.failed, 0)
        job.error = "; ".join([e for e in [plan_error, chunk_error] if e])[:4000]
        job.status = JobStatus.FAILED if job.total and job.done == 0 else JobStatus.SUCCEEDED
        job.attempts += 1
        job.started_at = job.started_at or now
        job.finished_at = now
        _single_write(chunk, job)
    return True


def _single_scope(job: ScoreJob) -> tuple[list[tuple], dict[int, list[tuple]] | None]:
    """``_scope(job)``'s first ``CHUNK_SIZE + 1`` rows of ``("bank_id", *INITIATIVE_COLUMNS)`` and their KPIs
    (``scoring.sources.kpis_from_json``): from the job's locked read on PostgreSQL (JSON: every initiative column is
    a JSON type), else the rows read here and no KPIs (the sources read them)."""
    if hasattr(job, "scope_rows"):
        rows = json.loads(job.scope_rows or "[]", parse_float=Decimal)
        return [tuple(row[:-1]) for row in rows], kpis_from_json({row[1]: row[-1] for row in rows})
    return list(_scope(job).values_list("bank_id", *INITIATIVE_COLUMNS)[: CHUNK_SIZE + 1]), None


_SINGLE_JOB_FIELDS = (
    "status",
    "attempts",
    "started_at",
    "total",
    "done",
    "failed",
    "scores_created",
    "error",
    "finished_at",
    "updated_at",
)
_SINGLE_CHUNK_FIELDS = (
    "job_id",
    "index",
    "bank_id",
    "initiative_ids",
    "status",
    "scored",
    "failed",
    "scores_created",
    "error",
    "finished_at",
)


def _single_write(chunk: ScoreJobChunk, job: ScoreJob) -> None:
    """The one-chunk job's chunk row (new) and the job's ``_SINGLE_JOB_FIELDS``: on PostgreSQL one statement (the
    INSERT as a data-modifying CTE of the UPDATE); elsewhere ``create`` and ``save`` — the same rows either way
    (tests/scoring/test_one_job_statements.py holds them equal)."""
    if connection.vendor != "postgresql":
        chunk.save(force_insert=True)
        job.save(update_fields=list(_SINGLE_JOB_FIELDS))
        return
    job.updated_at = timezone.now()  # what auto_now gives on save
    qn = connection.ops.quote_name
    chunk_values = [getattr(chunk, f) for f in _SINGLE_CHUNK_FIELDS]
    chunk_values[_SINGLE_CHUNK_FIELDS.index("initiative_ids")] = json.dumps(chunk.initiative_ids)
    placeholders = ["%s::jsonb" if f == "initiative_ids" else "%s" for f in _SINGLE_CHUNK_FIELDS]
    sql = (
        f"WITH chunk AS (INSERT INTO {qn(ScoreJobChunk._meta.db_table)} "
        f"({', '.join(qn(f) for f in _SINGLE_CHUNK_FIELDS)}) VALUES ({', '.join(placeholders)})) "
        f"UPDATE {qn(ScoreJob._meta.db_table)} SET {', '.join(f'{qn(f)} = %s' for f in _SINGLE_JOB_FIELDS)} "
        f"WHERE {qn('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*chunk_values, *(getattr(job, f) for f in _SINGLE_JOB_FIELDS), job.pk])


def score_job_run(job_id) -> None:
    """Run a small job whole (``score_job_run_single``); otherwise plan it, run a single chunk in place, fan
    several out as chunk tasks."""
    from ..tasks import score_chunk_task

    if score_job_run_single(job_id):
        return
    pending = score_job_plan(job_id)
    logger.info("score job %s: %d chunk(s) to score", job_id, len(pending))
    if len(pending) == 1:
        score_chunk_run(pending[0])
        return
    for chunk_id in pending:
        score_chunk_task.apply_async(args=[chunk_id])


def score_jobs_sweep(*, now=None) -> int:
    """Enqueue again the jobs that were accepted but are not progressing. Returns how many."""
    now = now or timezone.now()
    queued = ScoreJob.objects.filter(status=JobStatus.QUEUED, created_at__lt=now - QUEUED_GRACE).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    )
    stale = ScoreJob.objects.filter(status=JobStatus.RUNNING, updated_at__lt=now - RUNNING_STALE_AFTER)
    count = 0
    for job_id, request_id in list(queued.values_list("id", "request_id")) + list(
        stale.values_list("id", "request_id")
    ):
        if score_job_enqueue(job_id, request_id=request_id):
            count += 1
    if count:
        logger.info("sweeper re-enqueued %s score job(s)", count)
    return count
