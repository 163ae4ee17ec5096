"""The report payload, built by database aggregation in a fixed number of queries, whatever the portfolio size.

Every section is one grouped query (``values().annotate()``, ``aggregate()`` with ``filter=``, window functions,
correlated subqueries); Python only reshapes their results, which are bounded by the taxonomy, the partners or a
limit — except where the report lists every item of a kind for the spreadsheet (the ``totals`` map kept for
the next report's movers, the stale scores, the failed gates, the per-KPI attainment): those are one query each
returning one row per item, never one query per item.
On PostgreSQL (``set_based``) the failed gates' counts, the stale counts and order and the per-KPI attainment are
worked out by the database too (CTEs around the ORM's own queries), returning only the listed rows and the counts;
SQLite reads every item as before, with the same result (tests/reports/test_set_based.py). On PostgreSQL, outside
a transaction, those three sections are also worked out in threads beside the rest, each on a connection of its own
(``concurrent``), and the cyclic garbage collector waits until the payload is built (``collector_paused``).

Scope: the initiatives of one bank, or of every bank. Figures are a snapshot of the data when the report is
built (``as_of``); the weekly run builds it just after its period ends. "Portfolio" means the initiatives in
scope that are not retired: a retired initiative is counted by status but not scored, ranked or chased.

Payload (``schema_version`` 1), top-level keys:
    schema_version, kind, scope {bank_id, all_banks, code, name_zh_hans, name_en}, period {start, end},
    as_of, pillars [{key, name_zh_hans, name_en}],
    pillar_status {statuses, rows [{pillar, counts {status: n}, total}], totals, total},
    scores {initiatives, scored, unscored, mean_total, gate_failed, provisional, tiers {A..D}, histogram [{from, to, count}]},
    ranking {top, bottom} (five each, by current total),
    movers {previous_report {id, period_start, period_end} | null, compared, new, items [{…, previous, current, delta}]},
    failed_gates {count, by_gate [{key, names, count}], items [{…, gates [{key, names, rating, threshold, reason}]}]},
    stale {days, count, by_reason {never_scored, outdated_rubric, reassessment_overdue, reassessment_due}, items
        [{…, reason, next_reassessment_on, days_overdue, last_approved_on, reassessment_state,
        reassessment_required}]} — by re-assessment due dates (docs/lifecycle.md), most overdue first,
    monitoring {open_count, overdue_remediations, by_severity, items} — open monitoring events and overdue
        remediations (``scoring.reports.lifecycle``; absent before issue 14),
    coverage {scenario_types [{key, names, pillar, group, live}], gaps, pillars [{pillar, live_initiatives, scenario_types, covered}], pillar_gaps},
    kpis {by_pillar [{pillar, kpis, counted, mean_attainment}], items [per KPI: baseline, target, latest, attainment …]},
    concentration {participations, partners [{key, names, participations, share}], hhi, level, flagged, threshold, leaders, top3_share},
    exposure {present, month, partners, groups, hhi {balances, participations}, trend, limits, limit_trend} — money
        lent with partners and the joint-lending limits (``scoring.reports.exposure``; absent before issue 13),
    totals {initiative id: current total} — what the next report's movers compare with.
"""

from __future__ import annotations

import contextvars
import datetime
import gc
import heapq
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from partnerships.choices import InitiativeStatus
from partnerships.lifecycle import DUE_WITHIN_DAYS, reassessment_annotate
from partnerships.models import KPI, Bank, Initiative, InitiativePartner, KPIObservation, Pillar, ScenarioType

from .. import formulas
from ..choices import Tier, VersionStatus
from ..models import Criterion, CurrentScore, Report, RubricVersion
from ..models.report import ReportStatus
from .exposure import exposure_section
from .lifecycle import monitoring_section

SCHEMA_VERSION = 1
TOP_N = 5
MOVERS_N = 10
BUCKET_WIDTH = 10
HHI_HIGH = 2500  # above this a market is "highly concentrated" (US DOJ/FTC 2010 guidelines, the usual line)
HHI_MODERATE = 1500
BESIDE_THREADS = 2  # threads working out sections beside the one building the rest (``_beside``)
LEADERS_N = 3  # at most this many partners are named as leading a concentrated portfolio

STALE_NEVER = "never_scored"
STALE_OUTDATED = "outdated_rubric"
# Driven by each initiative's next re-assessment date (partnerships.lifecycle, docs/lifecycle.md), not a flat age.
STALE_OVERDUE = "reassessment_overdue"
STALE_DUE = "reassessment_due"
STALE_REASONS = (STALE_NEVER, STALE_OUTDATED, STALE_OVERDUE, STALE_DUE)


def stale_after_days() -> int:
    """Days ahead within which a re-assessment counts as due (setting ``SCORECARD_REPORT_STALE_DAYS``, default
    30); one already past its date is overdue."""
    return int(getattr(settings, "SCORECARD_REPORT_STALE_DAYS", DUE_WITHIN_DAYS))


def list_limit() -> int:
    """At most this many items in each list of the payload (failed gates, stale scores, KPIs); the counts and
    the per-gate, per-reason and per-pillar figures always cover every item (setting, default 1,000).

    The lists are ordered most urgent first (lowest totals, never scored, lowest attainment), so the limit drops
    the least urgent. Without it a 100k-initiative portfolio made a 52 MB payload and a 35 s report."""
    return int(getattr(settings, "SCORECARD_REPORT_LIST_LIMIT", 1000))


@dataclass(frozen=True)
class Scope:
    bank_id: int | None  # None: every bank

    def scoped(self, qs: QuerySet) -> QuerySet:
        """Any tenant model's rows in the report's scope (``partnerships.tenancy``'s ``for_bank``)."""
        return qs if self.bank_id is None else qs.for_bank(self.bank_id)

    def initiatives(self) -> QuerySet:
        return self.scoped(Initiative.objects.all())

    def portfolio(self) -> QuerySet:
        return self.initiatives().exclude(status=InitiativeStatus.RETIRED)


def _f(value) -> float | None:
    return None if value is None else float(value)


def _r(value, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def set_based(alias: str) -> bool:
    """Whether the big sections (totals, failed gates, stale, KPIs) are worked out by PostgreSQL-only SQL (CTEs,
    ``jsonb_array_elements``, DISTINCT ON) on the database ``alias``, rather than row by row here as on SQLite.

    # why: on PostgreSQL those sections read 100k rows into Python (2 s of a 100k report); SQLite, the embedded
    # default for small portfolios, keeps the portable way. Both give the same payload: a test runs both on the
    # same data (tests/reports/test_set_based.py)."""
    return connections[alias].vendor == "postgresql"


def concurrent(alias: str) -> bool:
    """Whether the report's longest database sections (failed gates, stale, KPIs) are worked out in threads beside
    the one building the rest, each on a connection of its own (``_beside``): on PostgreSQL (``set_based``),
    outside a transaction (whose uncommitted rows another connection would not see; tests run in one), unless the
    setting ``SCORECARD_REPORT_CONCURRENT`` is False.

    # why: at 100k those three sections are about 1.2 s the database works while this process waits, and the rest
    # (totals, exposure, …) as long again, half of it Python: side by side the build takes about the longer of the
    # two (a 100k build 2.5 → 1.8 s on this 2-CPU machine). Nothing changes in what is read: outside a transaction
    # every query already sees its own snapshot, and each section reads through the same scoped querysets in
    # either thread (tests/reports/test_set_based.py holds the payloads of both ways equal, to the byte)."""
    return (
        set_based(alias)
        and not connections[alias].in_atomic_block
        and bool(getattr(settings, "SCORECARD_REPORT_CONCURRENT", True))
    )


_pause_lock = threading.Lock()
_pauses = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a payload is built (unless ``SCORECARD_REPORT_PAUSE_GC`` is
    False); back as it was when the last build running in this process ends.

    # why: a 100k build makes hundreds of thousands of rows, tuples and dicts, and each of them counts towards the
    # collector's thresholds: it ran three full collections a report, each walking every object of the process
    # (0.4-0.6 s of a 3 s report, measured with ``gc.callbacks``), while the rows are freed by reference counting
    # as each section ends. What changes is only when the collector runs: a 100k report leaves no cycle
    # (``gc.collect()`` after one finds nothing), and any a build did leave would be collected after it. The
    # switch is process-wide, so a counter keeps concurrent builds (the worker's thread pool) from turning it back
    # on under one another."""
    global _pauses, _resume
    if not getattr(settings, "SCORECARD_REPORT_PAUSE_GC", True):
        yield
        return
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


class _Done:
    """A section worked out at once (what ``_beside`` gives when nothing runs beside)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _on_own_connection(section: Callable, *args):
    """``section(*args)`` in a thread of ``_beside``, on that thread's own connection, closed when it is done."""
    try:
        return section(*args)
    finally:
        connections.close_all()  # this thread's connections only (Django's are per thread)


@contextmanager
def _beside(alias: str) -> Iterator[Callable]:
    """``beside(section, *args)`` → an object whose ``result()`` is ``section(*args)``: worked out in a thread
    beside this one (two at most), each section on a connection of its own, when ``concurrent(alias)``; else at
    once, here. Each section runs in a copy of this context (the active language). Leaving waits for them all."""
    if not concurrent(alias):
        yield lambda section, *args: _Done(section(*args))
        return
    with ThreadPoolExecutor(max_workers=BESIDE_THREADS, thread_name_prefix="report-beside") as pool:
        yield lambda section, *args: pool.submit(
            contextvars.copy_context().run, _on_own_connection, section, *args
        )


# -- staleness (shared with the nightly sweep) ------------------------------------------------------------


def published_version_expression():
    """The published version of the default rubric of the row's pillar (None when none is published).

    A CASE over the (at most three) pillars' published versions, read once: as a correlated subquery it was
    evaluated twice for every initiative (about 1 s at 100k)."""
    published = dict(
        RubricVersion.objects.filter(status=VersionStatus.PUBLISHED, rubric__is_default=True)
        .order_by("rubric__pillar_id", "number")  # the highest number last: dict() keeps it
        .values_list("rubric__pillar_id", "pk")
    )
    if not published:
        return Value(None, output_field=IntegerField())
    return Case(
        *(When(pillar_id=pillar, then=Value(pk)) for pillar, pk in published.items()),
        default=Value(None),
        output_field=IntegerField(),
    )


def _stale_dates(as_of: datetime.datetime, days: int | None) -> tuple[datetime.date, int, datetime.date]:
    """(the day of ``as_of``, the days ahead a re-assessment counts as due, the last such day)."""
    today = timezone.localdate(as_of)
    due_within = stale_after_days() if days is None else days
    return today, due_within, today + datetime.timedelta(days=due_within)


def _score_reasons() -> tuple[When, ...]:
    """``stale_reason``'s first cases, decided by the current score alone (the re-assessment dates come after)."""
    return (
        When(current_score__isnull=True, then=Value(STALE_NEVER)),
        When(
            Q(published_version_id__isnull=False)
            & ~Q(current_score__rubric_version_id=F("published_version_id")),
            then=Value(STALE_OUTDATED),
        ),
        # By the date, not by ``reassessment_state`` (which names it twice): the same states, half the SQL
        # (every name of an annotation is its whole SQL again, correlated subqueries included).
        When(status=InitiativeStatus.RETIRED, then=Value("")),
    )


def stale_queryset(
    initiatives: QuerySet, *, as_of: datetime.datetime, days: int | None = None, only_stale: bool = True
) -> QuerySet:
    """Initiatives annotated with ``stale_reason`` and their re-assessment dates (and filtered to the stale ones).

    Stale means, in this order: never scored; scored under another version than the one now published for
    its pillar; re-assessment overdue (its next re-assessment date, ``partnerships.lifecycle``, is before the
    day of ``as_of``); or re-assessment due within ``days`` days (default: the setting).
    """
    today, due_within, soon = _stale_dates(as_of, days)
    annotated = (
        reassessment_annotate(initiatives, today=today, due_within=due_within)
        .annotate(published_version_id=published_version_expression())
        .annotate(
            stale_reason=Case(
                *_score_reasons(),
                When(next_reassessment_on__lt=today, then=Value(STALE_OVERDUE)),
                When(next_reassessment_on__lte=soon, then=Value(STALE_DUE)),
                default=Value(""),
            )
        )
    )
    return annotated.exclude(stale_reason="") if only_stale else annotated


# -- sections ------------------------------------------------------------------------------------------------


def _scope_meta(bank: Bank | None) -> dict:
    if bank is None:
        return {"bank_id": None, "all_banks": True}
    return {
        "bank_id": bank.pk,
        "all_banks": False,
        "code": bank.code,
        "name_zh_hans": bank.name_zh_hans,
        "name_en": bank.name_en,
    }


def _pillars() -> list[dict]:
    return list(Pillar.objects.order_by("position", "key").values("key", "name_zh_hans", "name_en"))


def _pillar_status(scope: Scope, pillars: list[dict]) -> dict:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for pillar, status, n in (
        scope.initiatives()
        .order_by()
        .values("pillar_id", "status")
        .annotate(n=Count("id"))
        .values_list("pillar_id", "status", "n")
    ):
        counts[pillar][status] = n
    statuses = list(InitiativeStatus.values)
    rows = []
    for p in pillars:
        by_status = {s: counts.get(p["key"], {}).get(s, 0) for s in statuses}
        rows.append({"pillar": p["key"], "counts": by_status, "total": sum(by_status.values())})
    totals = {s: sum(r["counts"][s] for r in rows) for s in statuses}
    return {"statuses": statuses, "rows": rows, "totals": totals, "total": sum(totals.values())}


def _scores(scope: Scope) -> dict:
    buckets = {}
    for i in range(0, 100, BUCKET_WIDTH):
        upper = Q(current_score__total__lt=i + BUCKET_WIDTH)
        if i + BUCKET_WIDTH >= 100:
            upper = Q(current_score__total__lte=100)
        buckets[f"b{i}"] = Count("id", filter=Q(current_score__total__gte=i) & upper)
    tiers = {f"tier_{t}": Count("id", filter=Q(current_score__tier=t)) for t in Tier.values}
    agg = scope.portfolio().aggregate(
        initiatives=Count("id"),
        scored=Count("current_score"),
        mean=Avg("current_score__total"),
        gate_failed=Count("id", filter=Q(current_score__gate_passed=False)),
        provisional=Count("id", filter=Q(current_score__provisional=True)),
        **tiers,
        **buckets,
    )
    return {
        "initiatives": agg["initiatives"],
        "scored": agg["scored"],
        "unscored": agg["initiatives"] - agg["scored"],
        "mean_total": _r(agg["mean"]),
        "gate_failed": agg["gate_failed"],
        "provisional": agg["provisional"],
        "tiers": {t: agg[f"tier_{t}"] for t in Tier.values},
        "histogram": [
            {"from": i, "to": i + BUCKET_WIDTH, "count": agg[f"b{i}"]} for i in range(0, 100, BUCKET_WIDTH)
        ],
    }


_RANKED_FIELDS = (
    "initiative_id",
    "initiative__code",
    "initiative__title",
    "initiative__bank__code",
    "initiative__pillar_id",
    "initiative__status",
    "total",
    "tier",
    "gate_passed",
    "provisional",
    "computed_at",
)


def _ranked_row(row: dict) -> dict:
    return {
        "initiative_id": row["initiative_id"],
        "code": row["initiative__code"],
        "title": row["initiative__title"],
        "bank": row["initiative__bank__code"],
        "pillar": row["initiative__pillar_id"],
        "status": row["initiative__status"],
        "total": _f(row["total"]),
        "tier": row["tier"],
        "gate_passed": row["gate_passed"],
        "provisional": row["provisional"],
        "computed_at": row["computed_at"].isoformat(),
    }


def _current_scores(scope: Scope) -> QuerySet:
    qs = CurrentScore.objects.exclude(initiative__status=InitiativeStatus.RETIRED)
    return scope.scoped(qs)


def _top_bottom(scope: Scope) -> dict:
    # Two top-N queries (ties: lower id first). One query ranking both ways with window functions numbered
    # every row of the portfolio twice (0.7 s at 100k); ORDER BY … LIMIT keeps five in a heap.
    scores = _current_scores(scope).values(*_RANKED_FIELDS)
    top = scores.order_by(F("total").desc(), "initiative_id")[:TOP_N]
    bottom = scores.order_by("total", "initiative_id")[:TOP_N]
    return {"top": [_ranked_row(r) for r in top], "bottom": [_ranked_row(r) for r in bottom]}


def _totals(scope: Scope) -> dict[str, float]:
    # The compact map the next report compares with: {initiative id: current total}.
    scores = _current_scores(scope)
    if set_based(scores.db):
        # why: 100k Decimals made and turned into floats, row by row through the ORM's iterator, took 0.25 s.
        # PostgreSQL's numeric → float8 is correctly rounded, as float(Decimal) is: the same floats and the same
        # text keys, fetched at once with no conversion here (the queryset's own SQL, tenancy filter included).
        sql, params = scores.values_list(
            Cast("initiative_id", CharField()), Cast("total", FloatField())
        ).query.sql_with_params()
        with connections[scores.db].cursor() as cursor:
            cursor.execute(sql, params)
            return dict(cursor.fetchall())
    return {str(iid): float(total) for iid, total in scores.values_list("initiative_id", "total")}


def _previous_report(kind: str, bank_id: int | None, period_start: datetime.date) -> dict | None:
    row = (
        Report.objects.filter(
            kind=kind, bank_id=bank_id, status=ReportStatus.READY, period_start__lt=period_start
        )
        .order_by("-period_start")
        .values("pk", "period_start", "period_end", "payload__totals")
        .first()
    )
    if row is None:
        return None
    return {
        "id": row["pk"],
        "period_start": row["period_start"].isoformat(),
        "period_end": row["period_end"].isoformat(),
        "totals": row["payload__totals"] or {},
    }


def _movers(previous: dict | None, totals: dict[str, float]) -> dict:
    if previous is None:
        return {"previous_report": None, "compared": 0, "new": 0, "items": []}
    before = previous["totals"]
    deltas = [
        (round(totals[k] - float(before[k]), 1), int(k))
        for k in totals.keys() & before.keys()
        if round(totals[k] - float(before[k]), 1) != 0
    ]
    deltas.sort(key=lambda d: (-abs(d[0]), d[1]))
    chosen = deltas[:MOVERS_N]
    info = {
        row["pk"]: row
        for row in Initiative.objects.filter(pk__in=[iid for _d, iid in chosen]).values(
            "pk", "code", "title", "bank__code", "pillar_id", "current_score__tier"
        )
    }
    items = []
    for delta, iid in chosen:
        row = info.get(iid, {})
        items.append(
            {
                "initiative_id": iid,
                "code": row.get("code", ""),
                "title": row.get("title", ""),
                "bank": row.get("bank__code", ""),
                "pillar": row.get("pillar_id", ""),
                "tier": row.get("current_score__tier", ""),
                "previous": float(before[str(iid)]),
                "current": totals[str(iid)],
                "delta": delta,
            }
        )
    return {
        "previous_report": {k: previous[k] for k in ("id", "period_start", "period_end")},
        "compared": len(totals.keys() & before.keys()),
        "new": len(totals.keys() - before.keys()),
        "items": items,
    }


def _gate_names() -> dict[str, dict]:
    names: dict[str, dict] = {}
    for key, zh, en in (
        Criterion.objects.filter(is_gate=True)
        .order_by(
            "key",
            Case(When(version__status=VersionStatus.PUBLISHED, then=Value(0)), default=Value(1)),
            "-version_id",
        )
        .values_list("key", "name_zh_hans", "name_en")
    ):
        names.setdefault(key, {"name_zh_hans": zh, "name_en": en})
    return names


def _gate_counts_pg(failed: QuerySet) -> tuple[int, list[tuple[str, str | None, int]]]:
    """(failing scores, [(gate key, a stored name of it or None, occurrences)]) counted in PostgreSQL, in one query.

    # why: decoding every failing score's gate list in Python (json.loads of ~47k lists) took 0.5 s at 100k; here
    # the lists are unnested by ``jsonb_array_elements`` and grouped, and only one row per gate comes back. The
    # queryset (its tenancy filter included) is the inner query, unchanged. ``MIN(name)`` stands for "a name the
    # gate was stored with" (the Python loop took the first one read, in no set order); it is only shown for a
    # gate no criterion names. SQLite keeps the loop (``_failed_gates``).
    """
    inner = failed.order_by().values(fg=F("score__failed_gates"))
    sql, params = inner.query.sql_with_params()
    query = f"""
        WITH s AS MATERIALIZED ({sql})
        SELECT 0, NULL::text, NULL::text, COUNT(*) FROM s
        UNION ALL
        SELECT 1, COALESCE(g.value ->> 'key', ''), MIN(g.value ->> 'name'), COUNT(*)
        FROM s CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(s.fg) = 'array' THEN s.fg ELSE '[]'::jsonb END
        ) AS g(value)
        GROUP BY 2
    """
    count, counted = 0, []
    with connections[inner.db].cursor() as cursor:
        cursor.execute(query, params)
        for part, key, name, n in cursor.fetchall():
            if part == 0:
                count = n
            else:
                counted.append((key, name, n))
    return count, counted


def _failed_gates(scope: Scope) -> dict:
    failed = _current_scores(scope).filter(gate_passed=False)
    names = _gate_names()

    def label(key: str, gate: dict) -> dict:
        fallback = gate.get("name", key)
        return names.get(key, {"name_zh_hans": fallback, "name_en": fallback})

    # Per-gate counts over every failing initiative: only the stored gate lists are read for that.
    by_gate: dict[str, dict] = {}
    if set_based(failed.db):
        count, counted = _gate_counts_pg(failed)
        for key, name, n in counted:
            by_gate[key] = {"key": key, **label(key, {} if name is None else {"name": name}), "count": n}
    else:
        count = 0
        for gates in (
            failed.order_by().values_list("score__failed_gates", flat=True).iterator(chunk_size=5000)
        ):
            count += 1
            for gate in gates or []:
                key = gate.get("key", "")
                entry = by_gate.setdefault(key, {"key": key, **label(key, gate), "count": 0})
                entry["count"] += 1
    rows = failed.order_by("total", "initiative_id").values(*_RANKED_FIELDS, "score__failed_gates")[
        : list_limit()
    ]
    items = []
    for row in rows:
        gates = [
            {
                "key": gate.get("key", ""),
                **label(gate.get("key", ""), gate),
                "rating": gate.get("rating"),
                "threshold": gate.get("threshold"),
                "reason": gate.get("reason", ""),
                **({"missing": gate["missing"]} if gate.get("missing") else {}),
            }
            for gate in row["score__failed_gates"] or []
        ]
        items.append({**_ranked_row(row), "gates": gates})
    return {
        "count": count,
        "by_gate": sorted(by_gate.values(), key=lambda g: (-g["count"], g["key"])),
        "items": items,
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


_STALE_FIELDS = (
    "id",
    "code",
    "title",
    "bank__code",
    "pillar_id",
    "status",
    "stale_reason",
    "next_reassessment_on",
    "last_approved_on",
    "reassessment_state",
    "reassessment_required",
    "current_score__computed_at",
    "current_score__rubric_version__rubric__code",
    "current_score__rubric_version__rubric__name_zh_hans",
    "current_score__rubric_version__rubric__name_en",
    "current_score__rubric_version__number",
)
# Most overdue first (the earliest re-assessment date), whatever the reason.
_STALE_ORDER = (
    F("next_reassessment_on").asc(nulls_first=True),
    F("current_score__computed_at").asc(nulls_first=True),
    "id",
)


def _stale_pg(
    annotated: QuerySet, limit: int, *, as_of: datetime.datetime, days: int
) -> tuple[dict[str, int], list[dict]]:
    """({reason: count} of the stale ones, the ``limit`` most overdue rows as ``values(*_STALE_FIELDS)`` dicts, in
    ``_STALE_ORDER``) in two queries, as the ORM's way in ``_stale``.

    # why: the counts (grouped over the portfolio) and the list (ordered over it) were two passes over 100k
    # initiatives joined to the approval views, each working out every row's re-assessment date — three times a
    # row, as ``stale_reason`` names it twice (0.4 s a pass). Here each row's date is worked out once (the inner
    # query, fenced by OFFSET 0 so that it is not inlined into the CASE), its reason from it — ``stale_reason``'s
    # cases: the score's (``_score_reasons``, the ORM's SQL), then the dates, as ``stale_queryset`` writes them —
    # into ``s`` (MATERIALIZED, narrow), counted, and the listed ids taken in ``_STALE_ORDER`` (written out); only
    # those rows are then read in full, by the ORM. The inner query is ``annotated``'s own SQL (tenancy filter
    # included). A left join from the counts keeps their row when nothing is stale. A test holds the result to the
    # ORM's (tests/reports/test_set_based.py).
    """
    today, _due_within, soon = _stale_dates(as_of, days)
    by_date = "~by date"  # not a reason (nor ""): the score's cases leave it to the dates
    sql, params = (
        annotated.annotate(score_reason=Case(*_score_reasons(), default=Value(by_date)))
        .values("id", "score_reason", "next_reassessment_on", "current_score__computed_at")
        .query.sql_with_params()
    )
    counted = ", ".join(
        f'COUNT(*) FILTER (WHERE s."stale_reason" = %s) AS "n_{i}"' for i in range(len(STALE_REASONS))
    )
    query = f"""
        WITH s AS MATERIALIZED (
            SELECT i."id", i."next_reassessment_on", i."current_score__computed_at",
                CASE
                    WHEN i."score_reason" <> %s THEN i."score_reason"
                    WHEN i."next_reassessment_on" < %s THEN %s
                    WHEN i."next_reassessment_on" <= %s THEN %s
                    ELSE ''
                END AS "stale_reason"
            FROM (SELECT * FROM ({sql}) AS i0 OFFSET 0) AS i
        ),
        c AS (SELECT {counted} FROM s),
        t AS (
            SELECT s."id", s."next_reassessment_on", s."current_score__computed_at" FROM s
            WHERE s."stale_reason" <> ''
            ORDER BY s."next_reassessment_on" ASC NULLS FIRST, s."current_score__computed_at" ASC NULLS FIRST,
                s."id" ASC
            LIMIT %s
        )
        SELECT c.*, t."id" FROM c LEFT JOIN t ON true
        ORDER BY t."next_reassessment_on" ASC NULLS FIRST, t."current_score__computed_at" ASC NULLS FIRST,
            t."id" ASC
    """
    with connections[annotated.db].cursor() as cursor:
        cursor.execute(
            query, (by_date, today, STALE_OVERDUE, soon, STALE_DUE, *params, *STALE_REASONS, limit)
        )
        fetched = cursor.fetchall()
    width = len(STALE_REASONS)
    counts = {reason: n for reason, n in zip(STALE_REASONS, fetched[0][:width], strict=True) if n}
    ids = [row[width] for row in fetched if row[width] is not None]
    details = {row["id"]: row for row in annotated.filter(id__in=ids).values(*_STALE_FIELDS)} if ids else {}
    return counts, [details[pk] for pk in ids]


def _stale(scope: Scope, as_of: datetime.datetime) -> dict:
    days = stale_after_days()
    today = timezone.localdate(as_of)
    annotated = stale_queryset(scope.portfolio(), as_of=as_of, days=days, only_stale=False)
    if set_based(annotated.db):
        counts, rows = _stale_pg(annotated.order_by(), list_limit(), as_of=as_of, days=days)
    else:
        # Grouped over the whole portfolio, the not-stale ("") group dropped here: a WHERE on the reason would
        # compute it twice a row.
        counts = {
            reason: n
            for reason, n in annotated.order_by()
            .values("stale_reason")
            .annotate(n=Count("id"))
            .values_list("stale_reason", "n")
            if reason
        }
        # Most overdue first (the earliest re-assessment date), whatever the reason.
        rows = (
            annotated.exclude(stale_reason="").order_by(*_STALE_ORDER).values(*_STALE_FIELDS)[: list_limit()]
        )
    items = [
        {
            "initiative_id": r["id"],
            "code": r["code"],
            "title": r["title"],
            "bank": r["bank__code"],
            "pillar": r["pillar_id"],
            "status": r["status"],
            "reason": r["stale_reason"],
            "next_reassessment_on": _iso(r["next_reassessment_on"]),
            "days_overdue": max(0, (today - r["next_reassessment_on"]).days)
            if r["next_reassessment_on"]
            else None,
            "last_approved_on": _iso(r["last_approved_on"]),
            "reassessment_state": r["reassessment_state"],
            "reassessment_required": bool(r["reassessment_required"]),
            "computed_at": r["current_score__computed_at"].isoformat()
            if r["current_score__computed_at"]
            else None,
            "rubric_version": (
                f"{r['current_score__rubric_version__rubric__code']} v{r['current_score__rubric_version__number']}"
                if r["current_score__rubric_version__number"] is not None
                else None
            ),
            # The same version by the rubric's names, for pages and files in either language.
            "rubric": (
                {
                    "name_zh_hans": r["current_score__rubric_version__rubric__name_zh_hans"],
                    "name_en": r["current_score__rubric_version__rubric__name_en"],
                    "number": r["current_score__rubric_version__number"],
                }
                if r["current_score__rubric_version__number"] is not None
                else None
            ),
        }
        for r in rows
    ]
    return {
        "days": days,
        "count": sum(counts.values()),
        "by_reason": {r: counts.get(r, 0) for r in STALE_REASONS},
        "items": items,
    }


def _coverage(scope: Scope, pillars: list[dict], pillar_status: dict) -> dict:
    live = Q(initiatives__status=InitiativeStatus.LIVE)
    if scope.bank_id is not None:
        live &= Q(initiatives__bank_id=scope.bank_id)
    types = list(
        ScenarioType.objects.annotate(live=Count("initiatives", filter=live, distinct=True))
        .order_by("pillar__position", "position", "key")
        .values("key", "name_zh_hans", "name_en", "pillar_id", "group", "live")
    )
    scenario_types = [
        {
            "key": t["key"],
            "name_zh_hans": t["name_zh_hans"],
            "name_en": t["name_en"],
            "pillar": t["pillar_id"],
            "group": t["group"],
            "live": t["live"],
        }
        for t in types
    ]
    live_by_pillar = {row["pillar"]: row["counts"][InitiativeStatus.LIVE] for row in pillar_status["rows"]}
    by_pillar = []
    for p in pillars:
        mine = [t for t in scenario_types if t["pillar"] == p["key"]]
        by_pillar.append(
            {
                "pillar": p["key"],
                "live_initiatives": live_by_pillar.get(p["key"], 0),
                "scenario_types": len(mine),
                "covered": sum(1 for t in mine if t["live"]),
            }
        )
    return {
        "scenario_types": scenario_types,
        "gaps": [t["key"] for t in scenario_types if not t["live"]],
        "pillars": by_pillar,
        "pillar_gaps": [p["pillar"] for p in by_pillar if not p["live_initiatives"]],
    }


def _kpi_key(attainment: float | None, code: str, kpi_id: int) -> tuple:
    # Unmeasured first, then the lowest attainment; by initiative code and KPI id within.
    return (attainment is not None, attainment or 0.0, code, kpi_id, attainment)


def _kpi_figures_python(figures: QuerySet, limit: int) -> tuple[dict, list[tuple], int]:
    """({pillar: {kpis, counted, sum}}, the ``limit`` most urgent KPIs' sort keys in order, every KPI's count) from
    ``figures`` (id, baseline, target, latest, pillar, code), every KPI read and ranked here (SQLite's way)."""
    by_pillar: dict[str, dict] = {}
    ranked = []
    for kpi_id, baseline, target, value, pillar, code in figures.iterator(chunk_size=5000):
        attainment = formulas.attainment_fraction(_f(baseline), _f(target), _f(value))
        entry = by_pillar.get(pillar)
        if entry is None:
            entry = by_pillar[pillar] = {"kpis": 0, "counted": 0, "sum": 0.0}
        entry["kpis"] += 1
        if attainment is not None:
            entry["counted"] += 1
            entry["sum"] += attainment
        ranked.append(_kpi_key(attainment, code, kpi_id))
    return by_pillar, heapq.nsmallest(limit, ranked), len(ranked)


def _kpi_figures_pg(figures: QuerySet, limit: int) -> tuple[dict, list[tuple], int]:
    """``_kpi_figures_python``'s result worked out in PostgreSQL, in one query: the per-pillar counts and sums, and
    the ``limit`` most urgent KPIs (not every KPI's row).

    # why: reading and ranking 100k KPIs in Python took 0.8 s of a 100k report. The attainment is
    # ``formulas.attainment_fraction`` in float8: numeric → float8 is correctly rounded as Python's float(Decimal),
    # and the subtraction, division and comparisons are the same IEEE operations, so each KPI's attainment is
    # the same float (the clip written as a CASE, so that 0/negative gives 0.0, never -0.0). The codes are ordered
    # COLLATE "C" (code points, as Python compares strings), and the listed rows are sorted again here by the same
    # key. ``figures`` (its tenancy filter included) is the inner query, as it is. The sums may add in another
    # order than the loop (which read rows in no set order either): the means are rounded to four places.
    """
    sql, params = figures.query.sql_with_params()
    x = "((f.v - f.b) / (f.t - f.b))"
    # Each figure made float8 once (``f``, a lateral subquery kept apart by OFFSET 0: inlined, every mention of it
    # would be the cast again) and the attainment once a KPI (``k``, MATERIALIZED: read twice).
    query = f"""
        WITH k AS MATERIALIZED (
            SELECT a.id, a.pillar_key AS pillar, a.initiative_code AS code,
                CASE
                    WHEN f.b IS NULL OR f.t IS NULL OR f.v IS NULL OR f.t = f.b THEN NULL
                    WHEN {x} <= 0 THEN 0.0::float8
                    WHEN {x} >= 1 THEN 1.0::float8
                    ELSE {x}
                END AS att
            FROM ({sql}) AS a CROSS JOIN LATERAL (
                SELECT a.baseline::float8 AS b, a.target::float8 AS t, a.latest::float8 AS v OFFSET 0
            ) AS f
        )
        SELECT 0, k.pillar, COUNT(*), COUNT(k.att), SUM(k.att), NULL::bigint, NULL::text FROM k GROUP BY k.pillar
        UNION ALL
        (
            SELECT 1, NULL::text, NULL::bigint, NULL::bigint, k.att, k.id, k.code FROM k
            ORDER BY k.att IS NOT NULL, COALESCE(k.att, 0.0::float8), k.code COLLATE "C", k.id
            LIMIT %s
        )
    """
    by_pillar: dict[str, dict] = {}
    listed = []
    count = 0
    with connections[figures.db].cursor() as cursor:
        cursor.execute(query, (*params, limit))
        for part, pillar, kpis, counted, value, kpi_id, code in cursor.fetchall():
            if part == 0:
                by_pillar[pillar] = {"kpis": kpis, "counted": counted, "sum": value or 0.0}
                count += kpis
            else:
                listed.append(_kpi_key(value, code, kpi_id))
    return by_pillar, sorted(listed), count


def _kpis(scope: Scope) -> dict:
    # The latest observation by the (kpi, observed_on) unique index, once per KPI; attainment, the per-pillar
    # means and the order are worked out from it (in PostgreSQL there, here elsewhere). Computed by the ORM, the
    # CASE around the attainment repeated the latest-observation subquery eight times per KPI (about 5 s at 100k
    # KPIs). Two passes: the figures of every KPI, then the listed ones' details.
    latest = KPIObservation.objects.filter(kpi=OuterRef("pk")).order_by("-observed_on")
    kpis = scope.scoped(KPI.objects.exclude(initiative__status=InitiativeStatus.RETIRED))
    if set_based(kpis.db):
        # why: each KPI's latest observation by DISTINCT ON over the KPIs joined to their observations (one hash
        # join and one sort) rather than a subquery a KPI (100k index look-ups): about half the time at 100k.
        # Unique (kpi, observed_on): one latest row a KPI; none observed, one row with NULLs.
        figures = (
            kpis.annotate(
                latest=F("observations__value"),
                pillar_key=F("initiative__pillar_id"),
                initiative_code=F("initiative__code"),
            )
            .order_by("id", F("observations__observed_on").desc(nulls_last=True))
            .distinct("id")
            .values_list("id", "baseline", "target", "latest", "pillar_key", "initiative_code")
        )
        by_pillar, listed, count = _kpi_figures_pg(figures, list_limit())
    else:
        figures = (
            kpis.annotate(
                latest=Subquery(latest.values("value")[:1]),
                pillar_key=F("initiative__pillar_id"),
                initiative_code=F("initiative__code"),
            )
            .order_by()
            .values_list("id", "baseline", "target", "latest", "pillar_key", "initiative_code")
        )
        by_pillar, listed, count = _kpi_figures_python(figures, list_limit())
    for entry in by_pillar.values():
        entry["mean"] = entry["sum"] / entry["counted"] if entry["counted"] else None
    details = {
        r["id"]: r
        for r in KPI.objects.filter(pk__in=[item[3] for item in listed])
        .annotate(
            latest=Subquery(latest.values("value")[:1]),
            latest_on=Subquery(latest.values("observed_on")[:1]),
        )
        .order_by()
        .values(
            "id",
            "name",
            "unit",
            "cost_driver",
            "baseline",
            "target",
            "latest",
            "latest_on",
            "initiative_id",
            "initiative__code",
            "initiative__title",
            "initiative__bank__code",
            "initiative__pillar_id",
        )
    }
    items = []
    for *_key, kpi_id, attainment in listed:
        r = details[kpi_id]
        items.append(
            {
                "kpi_id": kpi_id,
                "name": r["name"],
                "unit": r["unit"],
                "cost_driver": r["cost_driver"],
                "initiative_id": r["initiative_id"],
                "code": r["initiative__code"],
                "title": r["initiative__title"],
                "bank": r["initiative__bank__code"],
                "pillar": r["initiative__pillar_id"],
                "baseline": _f(r["baseline"]),
                "target": _f(r["target"]),
                "latest": _f(r["latest"]),
                "latest_on": r["latest_on"].isoformat() if r["latest_on"] else None,
                "attainment": _r(attainment, 4),
            }
        )
    return {"by_pillar": by_pillar, "items": items, "count": count}


def _kpi_section(scope: Scope, pillars: list[dict]) -> dict:
    data = _kpis(scope)
    by_pillar = []
    for p in pillars:
        row = data["by_pillar"].get(p["key"])
        by_pillar.append(
            {
                "pillar": p["key"],
                "kpis": row["kpis"] if row else 0,
                "counted": row["counted"] if row else 0,
                "mean_attainment": _r(row["mean"], 4) if row else None,
            }
        )
    return {"by_pillar": by_pillar, "items": data["items"], "count": data["count"]}


def _leaders(partners: list[dict], shares: list[float]) -> list[str]:
    """The largest partners that together hold at least half of the participations (three at most)."""
    leaders, held = [], 0.0
    for partner, share in zip(partners, shares, strict=True):
        leaders.append(partner["key"])
        held += share
        if held >= 50 or len(leaders) == LEADERS_N:
            break
    return leaders


def _partners(scope: Scope) -> dict:
    links = InitiativePartner.objects.filter(initiative__status=InitiativeStatus.LIVE)
    if scope.bank_id is not None:
        links = links.filter(initiative__bank_id=scope.bank_id)
    rows = list(
        links.order_by()
        .values("partner_id", "partner__key", "partner__name_zh_hans", "partner__name_en")
        .annotate(n=Count("id"))
        .order_by("-n", "partner__key")
    )
    total = sum(r["n"] for r in rows)
    shares = [100.0 * r["n"] / total for r in rows] if total else []
    hhi = sum(s * s for s in shares)
    partners = [
        {
            "partner_id": r["partner_id"],
            "key": r["partner__key"],
            "name_zh_hans": r["partner__name_zh_hans"],
            "name_en": r["partner__name_en"],
            "participations": r["n"],
            "share": round(s, 2),
        }
        for r, s in zip(rows, shares, strict=True)
    ]
    if not total:
        level = "none"
    elif hhi > HHI_HIGH:
        level = "high"
    elif hhi > HHI_MODERATE:
        level = "moderate"
    else:
        level = "low"
    return {
        "participations": total,
        "partners": partners,
        "hhi": round(hhi, 1),
        "level": level,
        "flagged": hhi > HHI_HIGH,
        "threshold": HHI_HIGH,
        "leaders": _leaders(partners, shares) if hhi > HHI_HIGH else [],
        "top3_share": round(sum(shares[:LEADERS_N]), 2),
    }


def report_payload_build(
    *,
    kind: str,
    bank: Bank | None,
    period_start: datetime.date,
    period_end: datetime.date,
    as_of: datetime.datetime | None = None,
) -> dict:
    """The whole payload (JSON-able) for one report; see the module docstring for what each section holds."""
    with collector_paused():
        return _payload_build(
            kind=kind, bank=bank, period_start=period_start, period_end=period_end, as_of=as_of
        )


def _payload_build(
    *,
    kind: str,
    bank: Bank | None,
    period_start: datetime.date,
    period_end: datetime.date,
    as_of: datetime.datetime | None,
) -> dict:
    as_of = as_of or timezone.now()
    scope = Scope(bank.pk if bank is not None else None)
    pillars = _pillars()
    with _beside(scope.initiatives().db) as beside:
        # Started first: the database's longest sections, each returning a few rows (see ``_beside``).
        failed_gates = beside(_failed_gates, scope)
        stale = beside(_stale, scope, as_of)
        kpis = beside(_kpi_section, scope, pillars)
        pillar_status = _pillar_status(scope, pillars)
        totals = _totals(scope)
        concentration = _partners(scope)
        scores = _scores(scope)
        ranking = _top_bottom(scope)
        movers = _movers(_previous_report(kind, scope.bank_id, period_start), totals)
        coverage = _coverage(scope, pillars, pillar_status)
        exposure = exposure_section(
            bank_id=scope.bank_id,
            period_end=period_end,
            participation_hhi=concentration["hhi"] if concentration["participations"] else None,
            limit=list_limit(),
        )
        monitoring = monitoring_section(
            bank_id=scope.bank_id, today=timezone.localdate(as_of), limit=list_limit()
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "scope": _scope_meta(bank),
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "as_of": as_of.isoformat(),
        "pillars": pillars,
        "pillar_status": pillar_status,
        "scores": scores,
        "ranking": ranking,
        "movers": movers,
        "failed_gates": failed_gates.result(),
        "stale": stale.result(),
        "coverage": coverage,
        "kpis": kpis.result(),
        "concentration": concentration,
        "exposure": exposure,
        "monitoring": monitoring,
        "totals": totals,
    }
