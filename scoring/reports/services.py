"""Report services and selectors: generate one report idempotently, list the reports a user may read,
fan the weekly run out per bank, and sweep stale scores into score jobs.

Generation is idempotent per (kind, scope, period): the row is found or created under its unique constraint;
a ready report is returned as it is unless ``force`` asks for it to be built again, which updates the same row.
"""

from __future__ import annotations

import datetime
import logging
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.ops.metrics import report_generation_observe
from partnerships.choices import InitiativeStatus
from partnerships.models import Bank, Initiative
from partnerships.tenancy import actor_has_bank_role, is_system, scope_queryset

from ..choices import JobKind, JobStatus
from ..errors import Forbidden, Invalid, NotFound
from ..models import Report, ScoreJob
from ..models.report import ReportKind, ReportStatus
from .build import STALE_NEVER, STALE_OUTDATED, collector_paused, report_payload_build, stale_queryset

logger = logging.getLogger(__name__)


def report_timezone() -> ZoneInfo:
    """Report weeks are ISO weeks (Monday to Sunday) in this zone (setting, default Asia/Shanghai)."""
    return ZoneInfo(getattr(settings, "SCORECARD_REPORT_TIMEZONE", "Asia/Shanghai"))


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the ISO week that holds ``day``."""
    return day - datetime.timedelta(days=day.weekday())


def week_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = week_start(day)
    return start, start + datetime.timedelta(days=6)


def last_complete_week_start(now: datetime.datetime | None = None) -> datetime.date:
    """The Monday of the last week that has ended (the Monday 08:00 run reports on the week before)."""
    today = timezone.localdate(now or timezone.now(), timezone=report_timezone())
    return week_start(today) - datetime.timedelta(days=7)


def _bank_or_error(bank_id: int | None) -> Bank | None:
    if bank_id is None:
        return None
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:
        raise NotFound(_("No bank with id %(id)s.") % {"id": bank_id})
    return bank


# A ready report's payload and HTML run to megabytes at portfolio scale: rows are found and locked without them.
HEAVY_FIELDS = ("payload", "html")


def _claim(kind: str, bank_id: int | None, start: datetime.date, end: datetime.date) -> Report:
    """Find or create the report row; concurrent first runs meet at the unique constraint."""
    rows = Report.objects.defer(*HEAVY_FIELDS)
    try:
        with transaction.atomic():
            report, _created = rows.get_or_create(
                kind=kind, bank_id=bank_id, period_start=start, defaults={"period_end": end}
            )
    except IntegrityError:
        report = rows.get(kind=kind, bank_id=bank_id, period_start=start)
    return report


def report_generate(
    *,
    kind: str = ReportKind.WEEKLY_PORTFOLIO,
    bank_id: int | None,
    period_start: datetime.date,
    force: bool = False,
    deliver: bool = True,
) -> Report:
    """Build (or return) the report of ``kind`` for the bank (None: all banks) and the week of ``period_start``.

    Any day of the week may be given; the period is that ISO week. A report already ready is returned as it
    is unless ``force``. On success the report is e-mailed to the bank's subscribers (``deliver``); on error
    the row is marked failed with the reason and the error propagates (the task retries transient ones).
    """
    from .render import report_render

    if kind not in ReportKind.values:
        raise Invalid(fields={"kind": [_("Unknown report kind %(kind)s.") % {"kind": kind}]})
    bank = _bank_or_error(bank_id)
    start, end = week_bounds(period_start)
    report = _claim(kind, bank_id, start, end)

    with transaction.atomic():
        report = Report.objects.select_for_update().defer(*HEAVY_FIELDS).get(pk=report.pk)
        if report.status == ReportStatus.READY and not force:
            return report
        report.status = ReportStatus.RUNNING
        report.attempts += 1
        report.error = ""
        report.save(update_fields=["status", "attempts", "error", "updated_at"])

    try:
        # why: the build's objects would set off full garbage collections, the payload's JSON encoding among
        # them (0.2 s a 100k report); the collector waits until the row is written (build.collector_paused).
        with collector_paused():
            building = time.monotonic()
            payload = report_payload_build(kind=kind, bank=bank, period_start=start, period_end=end)
            language = settings.LANGUAGE_CODE
            html = report_render(payload, language=language)
            report_generation_observe(kind, time.monotonic() - building)  # /metrics (ops.metrics)
            with transaction.atomic():
                report = (
                    Report.objects.select_for_update(of=("self",))
                    .select_related("bank")
                    .defer(*HEAVY_FIELDS)
                    .get(pk=report.pk)
                )
                if report.status == ReportStatus.READY and not force:
                    # A concurrent run finished first; its result stands (and was e-mailed once).
                    return report
                report.payload = payload
                report.html = html
                report.language = language
                report.status = ReportStatus.READY
                report.generated_at = timezone.now()
                report.emailed_at = None
                report.error = ""
                report.save()
    except Exception as exc:
        _mark_failed(report.pk, f"{type(exc).__name__}: {exc}")
        raise
    logger.info("report %s ready (%s, bank %s, %s)", report.pk, kind, bank_id or "*", start)
    if deliver:
        from .deliver import report_deliver

        try:
            report_deliver(report.pk)
        except Exception:  # the report stands even if the mail server is down; the operator sees the log
            logger.exception("report %s: e-mail delivery failed", report.pk)
    return report


def _mark_failed(report_id: int, error: str) -> None:
    try:
        Report.objects.filter(pk=report_id).exclude(status=ReportStatus.READY).update(
            status=ReportStatus.FAILED, error=error[:4000], updated_at=timezone.now()
        )
    except Exception:  # the database itself may be what failed; the task's retry will try again
        logger.exception("report %s: could not record the failure", report_id)


def report_enqueue(
    *, kind: str = ReportKind.WEEKLY_PORTFOLIO, bank_id: int | None, period_start: datetime.date, force=False
) -> None:
    """Ask a worker for the report once the surrounding transaction commits."""
    from ..tasks import generate_report_task

    transaction.on_commit(
        lambda: generate_report_task.apply_async(
            kwargs={
                "kind": kind,
                "bank_id": bank_id,
                "period_start": period_start.isoformat(),
                "force": force,
            }
        ),
        robust=True,
    )


GENERATE_ROLE = "analyst"


def may_generate(user, bank_id: int | None) -> bool:
    """A bank's report: an analyst of the bank; the report across all banks: a superuser (or the system)."""
    if is_system(user):
        return True
    if bank_id is None:
        return bool(user.is_active and user.is_superuser)
    return actor_has_bank_role(user, bank_id, min_role=GENERATE_ROLE)


def report_request(
    *,
    user,
    kind: str = ReportKind.WEEKLY_PORTFOLIO,
    bank_id: int | None,
    period_start: datetime.date,
    force: bool = False,
) -> tuple[Report, bool]:
    """A person asks for a report now: the row appears at once (pending) and a worker builds it after commit.

    Returns (report, enqueued); a report already ready is not rebuilt unless ``force``. A bank's report needs the
    analyst role in it, the report across all banks a superuser (``Forbidden`` otherwise).
    """
    if kind not in ReportKind.values:
        raise Invalid(fields={"kind": [_("Unknown report kind %(kind)s.") % {"kind": kind}]})
    _bank_or_error(bank_id)
    if not may_generate(user, bank_id):
        raise Forbidden(
            _("A bank's report is asked for by its analysts; the report across all banks by a superuser.")
        )
    start, end = week_bounds(period_start)
    report = _claim(kind, bank_id, start, end)
    if report.status == ReportStatus.READY and not force:
        return report, False
    report_enqueue(kind=kind, bank_id=bank_id, period_start=start, force=force)
    return report, True


def reports_enqueue_weekly(
    *, kind: str = ReportKind.WEEKLY_PORTFOLIO, period_start: datetime.date | None = None
) -> int:
    """One report task per bank plus the one across banks, all for the same (last complete) week."""
    start = week_start(period_start) if period_start else last_complete_week_start()
    bank_ids: list[int | None] = [*Bank.objects.order_by("pk").values_list("pk", flat=True), None]
    for bank_id in bank_ids:
        report_enqueue(kind=kind, bank_id=bank_id, period_start=start)
    return len(bank_ids)


# -- selectors ---------------------------------------------------------------------------------------------


def report_list() -> QuerySet:
    """Every report, newest period first; each door scopes it to the user (``partnerships.tenancy``)."""
    return Report.objects.select_related("bank").order_by("-period_start", "bank__code", "kind")


def report_list_for(
    user, *, kind: str | None = None, bank_id: int | None = None, status: str | None = None
) -> QuerySet:
    """The reports the user may read: their banks' reports; superusers also see the all-banks reports."""
    qs = scope_queryset(report_list(), user)
    if kind:
        qs = qs.filter(kind=kind)
    if bank_id is not None:
        qs = qs.filter(bank_id=bank_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def report_get_for(user, report_id) -> Report | None:
    """One report if the user may read it, else None (callers answer 404 either way)."""
    try:
        return report_list_for(user).filter(pk=report_id).first()
    except (ValueError, TypeError):
        return None


# -- stale scores ------------------------------------------------------------------------------------------


def stale_scores_sweep(*, now: datetime.datetime | None = None) -> list[ScoreJob]:
    """Create one score job (kind "sweep") per bank for its initiatives whose current score is stale.

    Stale here: never scored, or scored under another version than the one published for the pillar (a
    re-score of unchanged inputs under the same version would write nothing new). Retired initiatives, pillars
    with no published rubric, and banks whose previous sweep job is still queued or running are skipped.
    """
    from ..services.jobs import score_job_create

    busy = set(
        ScoreJob.objects.filter(
            kind=JobKind.SWEEP, status__in=[JobStatus.QUEUED, JobStatus.RUNNING], bank__isnull=False
        ).values_list("bank_id", flat=True)
    )
    rows = (
        stale_queryset(
            Initiative.objects.exclude(status=InitiativeStatus.RETIRED).exclude(bank_id__in=busy),
            as_of=now or timezone.now(),
        )
        .filter(stale_reason__in=[STALE_NEVER, STALE_OUTDATED], published_version_id__isnull=False)
        .order_by("bank_id", "id")
        .values_list("bank_id", "id")
    )
    by_bank: dict[int, list[int]] = {}
    for bank_id, initiative_id in rows:
        by_bank.setdefault(bank_id, []).append(initiative_id)
    jobs = []
    with transaction.atomic():
        for bank_id, ids in by_bank.items():
            jobs.append(score_job_create(bank_id=bank_id, initiative_ids=ids, kind=JobKind.SWEEP))
    if jobs:
        logger.info(
            "stale-score sweep: %s job(s), %s initiative(s)", len(jobs), sum(map(len, by_bank.values()))
        )
    return jobs
