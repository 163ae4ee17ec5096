"""The admin home page's data for one user (a selector): what their banks' portfolio looks like and what waits.

Everything is scoped to the banks the user belongs to (``partnerships.tenancy``; superusers: every bank) and read
in a fixed number of queries whatever the portfolio's size: grouped counts, and lists cut at ``SHOWN`` rows that
carry their full count (a window function, so the count costs no query of its own).

There is no re-assessment due date in the project (assessments and scores carry none), so the page has no
"re-assessments due" section; the weekly report's stale scores are the nearest notion.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window

from partnerships.choices import InitiativeStatus
from partnerships.models import Bank, Initiative, Pillar
from partnerships.models.base import bilingual_name
from partnerships.tenancy import bank_ids_for

from .choices import JobStatus, Tier
from .models import Assessment, Criterion, CurrentScore, Report, ScoreJob
from .models.report import ReportStatus
from .reports.services import report_list_for
from .selectors import assessments_to_approve, assessments_to_rate
from .services.assessments import APPROVE_ROLE, RATE_ROLE

SHOWN = 10  # rows in each list; the counts cover everything
TIERS = tuple(Tier.values)
NOT_SCORED = "none"  # the initiative list's tier filter value for "not scored"
ACTIVE_JOBS = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class Cell:
    tier: str  # A–D, or NOT_SCORED
    count: int


@dataclass
class PortfolioRow:
    pillar: str  # key
    name: str
    cells: list[Cell]
    total: int


@dataclass
class Listing:
    """Up to ``SHOWN`` rows and how many there are in all."""

    rows: list
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass
class Dashboard:
    all_banks: bool  # a superuser: every bank
    banks: dict[int, str]  # id → name, in the active language
    tiers: tuple[str, ...]
    portfolio: list[PortfolioRow]
    totals: PortfolioRow
    failed_gates: Listing
    may_rate: bool  # the role to rate, or to approve, in one of the banks (a viewer has neither list)
    may_approve: bool
    to_rate: Listing
    to_approve: Listing
    jobs: Listing
    report: Report | None


def _listing(queryset: QuerySet) -> Listing:
    """One query: the first ``SHOWN`` rows, each carrying the number of rows in all (``COUNT(*) OVER ()``)."""
    rows = list(queryset.annotate(listing_count=Window(Count("pk")))[:SHOWN])
    if not rows:
        return Listing(rows=[], count=0)
    first = rows[0]
    return Listing(
        rows=rows, count=first["listing_count"] if isinstance(first, dict) else first.listing_count
    )


def _portfolio(user) -> tuple[list[PortfolioRow], PortfolioRow]:
    """Initiatives (every status, as the initiative list counts them) by pillar and current score's tier."""
    counts: dict[tuple[str, str], int] = {}
    grouped = (
        Initiative.objects.for_user(user)
        .order_by()
        .values_list("pillar_id", "current_score__tier")
        .annotate(n=Count("pk"))
    )
    for pillar, tier, n in grouped:
        counts[(pillar, tier or NOT_SCORED)] = n
    columns = (*TIERS, NOT_SCORED)
    rows = []
    for pillar in Pillar.objects.only("key", "name_zh_hans", "name_en").order_by("position", "key"):
        cells = [Cell(tier, counts.get((pillar.key, tier), 0)) for tier in columns]
        rows.append(PortfolioRow(pillar.key, pillar.name, cells, sum(c.count for c in cells)))
    totals = [Cell(tier, sum(counts.get((row.pillar, tier), 0) for row in rows)) for tier in columns]
    return rows, PortfolioRow("", "", totals, sum(c.count for c in totals))


def _failed_gates(user) -> Listing:
    """Initiatives (not retired) whose current score failed a gate, the latest first, each gate named."""
    failed = CurrentScore.objects.for_user(user).filter(gate_passed=False)
    failed = failed.exclude(initiative__status=InitiativeStatus.RETIRED)
    listing = _listing(
        failed.order_by("-computed_at", "initiative_id").values(
            "initiative_id",
            "initiative__code",
            "initiative__title",
            "initiative__bank__name_zh_hans",
            "initiative__bank__name_en",
            "total",
            "computed_at",
            "rubric_version_id",
            "score__failed_gates",
        )
    )
    # The gate's name in the reader's language, from the criterion of the score's own rubric version.
    keys = {g.get("key") for row in listing.rows for g in row["score__failed_gates"] or []}
    names = {
        (version, key): bilingual_name(zh, en)
        for version, key, zh, en in Criterion.objects.filter(
            version_id__in={row["rubric_version_id"] for row in listing.rows}, key__in=keys
        ).values_list("version_id", "key", "name_zh_hans", "name_en")
    }
    listing.rows = [
        {
            "initiative_id": row["initiative_id"],
            "code": row["initiative__code"],
            "title": row["initiative__title"],
            "bank": bilingual_name(row["initiative__bank__name_zh_hans"], row["initiative__bank__name_en"]),
            "total": row["total"],
            "computed_at": row["computed_at"],
            "gates": [
                {
                    **gate,
                    "name": names.get((row["rubric_version_id"], gate.get("key")), gate.get("name", "")),
                }
                for gate in row["score__failed_gates"] or []
            ],
        }
        for row in listing.rows
    ]
    return listing


def _assessments(queryset: QuerySet, user, *order: str) -> Listing:
    mine = Q(author_id=user.pk) | Exists(
        Assessment.raters.through.objects.filter(assessment_id=OuterRef("pk"), user_id=user.pk)
    )
    return _listing(
        queryset.select_related("initiative__bank", "author", "rubric_version__rubric")
        .annotate(mine=mine)
        .order_by(*order, "-id")
    )


def _holds(user, role: str) -> bool:
    ids = bank_ids_for(user, min_role=role)
    return ids is None or bool(ids)


def dashboard_for(user) -> Dashboard:
    """The home page of ``user``: their banks' portfolio, failed gates, assessments waiting, jobs, latest report."""
    portfolio, totals = _portfolio(user)
    jobs = (
        ScoreJob.objects.for_user(user)
        .filter(status__in=ACTIVE_JOBS)
        .select_related("bank", "requested_by")
        .order_by("-created_at")
    )
    report = (
        report_list_for(user, status=ReportStatus.READY)
        .defer("payload", "html")
        .order_by("-period_start", F("generated_at").desc(nulls_last=True), "bank__code")
        .first()
    )
    return Dashboard(
        all_banks=bank_ids_for(user) is None,
        banks={bank.pk: bank.name for bank in Bank.objects.for_user(user).order_by("code")},
        tiers=TIERS,
        portfolio=portfolio,
        totals=totals,
        failed_gates=_failed_gates(user),
        may_rate=_holds(user, RATE_ROLE),
        may_approve=_holds(user, APPROVE_ROLE),
        # Mine (written or rated by me) first, then the latest changed; returned drafts carry their reason.
        to_rate=_assessments(assessments_to_rate(user), user, "-mine", "-updated_at"),
        # The longest waiting first.
        to_approve=_assessments(assessments_to_approve(user), user, "submitted_at"),
        jobs=_listing(jobs),
        report=report,
    )
