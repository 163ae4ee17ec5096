"""Named data sources for computed criteria: bulk loaders that feed the pure formulas in scoring.formulas.

Each source reads what it needs for a whole chunk of initiatives in a fixed number of queries (never one
per initiative), then applies its formula per initiative. The breakdown row of a computed criterion names
the data it used (the formula's rationale and figures).

- ``partner_strength`` — each partner's latest market-cap change (PartnerMetric ``market_cap_change_pct``,
  whole company) and latest revenue growth: the company-level ``revenue_growth_pct`` when the source states
  one, otherwise the segments' growth in the latest period weighted by segment revenue (Tencent's Q3 2024
  segments, say). Bands and role weights: scoring.formulas.partner_strength.
- ``kpi_attainment`` — each KPI's baseline, target and latest observation: scoring.formulas.kpi_attainment.
- ``data_protection`` — the initiative's data-sharing facts: scoring.formulas.data_protection.

Version 2 (scoring.formulas_v2; the version 1 sources above stay as they were, so version 1 scores are reproduced):

- ``partner_strength_v2`` — per partner: the latest company-level market-cap change; the segments of the latest
  period with segment figures (revenue, growth and ``part_of``: a segment inside another is not counted twice);
  the latest company-level revenue growth, which the formula uses only where no segment figures exist. Rows are
  stale when their period ended more than ``settings.SCORECARD_PARTNER_FIGURES_STALE_DAYS`` before the scoring
  date.
- ``kpi_attainment_v2`` — each KPI's baseline at its baseline date, target at its target date, weight, and its
  latest observation on or before the scoring date, with that observation's date.
- ``data_protection_v2`` — the initiative's personal-data facts and its categories (sensitivity by
  ``formulas_v2.SENSITIVE_CATEGORIES``); the credit-reporting agency on the 断直连 route counts only when
  ``partnerships.compliance.credit_agency_licensed`` finds it licensed on the scoring date.

**The scoring date** (``InitiativeFacts.as_of``): the day "by now", "stale" and "within three years" are judged
on. A score job passes the local date it was requested on (``scoring.services.jobs``), so a chunk redelivered on
another day computes exactly what its siblings did; without one, today. Every version 2 result stores it in its
data (``as_of``), which is part of the canonical inputs: it is in the score's inputs hash and in the breakdown, so
a stored score says which day it was judged on and is reproduced from its inputs bit for bit. Two runs on
different days are different inputs and may give two Scores; runs on the same day give one.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from partnerships.choices import LawfulBasis, PersonalDataCategory, TransferMechanism
from partnerships.compliance import credit_agency_licensed
from partnerships.models import (
    KPI,
    Initiative,
    InitiativeDataCategory,
    InitiativePartner,
    KPIObservation,
    PartnerMetric,
    TechPartner,
)

from . import formulas, formulas_v2

# Chunks filter by ``initiative_id__any_of`` (scoring.lookups): one array parameter, not 500 placeholders.


@dataclass
class InitiativeFacts:
    """What the sources need of one initiative (read in bulk by the scoring service)."""

    id: int
    personal_data_categories: list = field(default_factory=list)
    lawful_basis: str = ""
    security_assessment_done: bool = False
    cross_border_transfer: bool = False
    transfer_mechanism: str = ""
    # The scoring date of version 2's sources (module docstring); None: today.
    as_of: datetime.date | None = None


PARTNER_METRICS = ("market_cap_change_pct", "revenue_growth_pct", "revenue")
_LINK_COLUMNS = (
    "initiative_id",
    "partner_id",
    "role",
    "partner__name_zh_hans",
    "partner__name_en",
    "initiative__bank_id",
)
# The sources that read the initiatives' partners (``links_and_figures``): a chunk reads them once, for these and
# for the joint-lending limits (scoring.services.compute).
PARTNER_SOURCES = frozenset({"partner_strength", "partner_strength_v2"})
_METRIC_COLUMNS = ("partner_id", "metric", "segment", "part_of", "period", "period_end", "value")

# The partners of the initiatives and those partners' figures (``PARTNER_METRICS``) in one statement: the figures'
# rows are those of the partners the links name (a semi-join on the links), tagged apart from the links. Each part
# in the order its read had (links: initiative, role, partner key; figures: partner key, metric, segment, latest
# period end first), so every row reaches the formulas where it did.
# why the ids on the initiatives (not on the links): with ``ip.initiative_id = ANY`` the planner joined the
# initiatives by a hash join over a sequential scan of every initiative, so a chunk's time grew with the portfolio
# (this read: 4.6 ms a 500-initiative chunk at 10k initiatives, 16 ms at 100k); filtering on the primary key it
# walks the 500 initiatives, then each one's links by their index (2.5 ms at 100k), with estimates that match.
_LINKS_AND_FIGURES = """
WITH links AS (
    SELECT ip.initiative_id, ip.partner_id, ip.role, p.name_zh_hans, p.name_en, p.key, i.bank_id
    FROM {links} ip JOIN {partners} p ON p.id = ip.partner_id JOIN {initiatives} i ON i.id = ip.initiative_id
    WHERE i.id = ANY(%(ids)s)
)
SELECT 0 AS part, l.initiative_id, l.role, l.key, NULL AS metric, NULL AS segment, NULL::date AS period_end,
       l.partner_id, l.name_zh_hans, l.name_en, NULL AS part_of, NULL AS period, NULL::numeric AS value, l.bank_id
FROM links l
UNION ALL
SELECT 1, NULL, NULL, p.key, m.metric, m.segment, m.period_end,
       m.partner_id, NULL, NULL, m.part_of, m.period, m.value, NULL
FROM {metrics} m JOIN {partners} p ON p.id = m.partner_id
WHERE m.metric = ANY(%(metrics)s) AND m.partner_id IN (SELECT partner_id FROM links)
ORDER BY part, initiative_id, role, key, metric, segment, period_end DESC
"""


def links_and_figures(ids: list[int]) -> tuple[list[tuple], list[tuple]]:
    """``(links, figures)`` of the initiatives: links as ``_LINK_COLUMNS``, figure rows as ``_METRIC_COLUMNS``.

    On PostgreSQL one statement (``_LINKS_AND_FIGURES``); elsewhere the two reads it replaces — the same rows in
    the same order (tests/scoring/test_one_job_sources.py holds them equal)."""
    if connection.vendor != "postgresql":
        links = list(InitiativePartner.objects.filter(initiative_id__any_of=ids).values_list(*_LINK_COLUMNS))
        figures = list(
            PartnerMetric.objects.filter(
                partner_id__in={link[1] for link in links}, metric__in=list(PARTNER_METRICS)
            ).values_list(*_METRIC_COLUMNS)
        )
        return links, figures
    qn = connection.ops.quote_name
    sql = _LINKS_AND_FIGURES.format(
        links=qn(InitiativePartner._meta.db_table),
        partners=qn(TechPartner._meta.db_table),
        metrics=qn(PartnerMetric._meta.db_table),
        initiatives=qn(Initiative._meta.db_table),
    )
    links: list[tuple] = []
    figures: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": ids, "metrics": list(PARTNER_METRICS)})
        for (
            part,
            iid,
            role,
            _key,
            metric,
            segment,
            period_end,
            pid,
            zh,
            en,
            part_of,
            period,
            value,
            bank,
        ) in cursor:
            if part == 0:
                links.append((iid, pid, role, zh, en, bank))
            else:
                figures.append((pid, metric, segment, part_of, period, period_end, value))
    return links, figures


def _latest_partner_figures(rows: Iterable[tuple]) -> dict[int, dict]:
    """{partner_id: {market_cap_change_pct, market_cap_period, revenue_growth_pct, revenue_growth_period}} from the
    partners' figure rows (``_METRIC_COLUMNS``)."""
    rows = [
        (pid, metric, segment, period, period_end, value)
        for pid, metric, segment, _part_of, period, period_end, value in rows
    ]
    by_partner: dict[int, list] = defaultdict(list)
    for row in rows:
        by_partner[row[0]].append(row)
    figures: dict[int, dict] = {}
    for partner_id, items in by_partner.items():
        out: dict = {}
        caps = sorted(
            (r for r in items if r[1] == "market_cap_change_pct" and r[2] == ""), key=lambda r: r[4]
        )
        if caps:
            out["market_cap_change_pct"], out["market_cap_period"] = float(caps[-1][5]), caps[-1][3]
        growth = [r for r in items if r[1] == "revenue_growth_pct"]
        if growth:
            latest_end = max(r[4] for r in growth)
            latest = [r for r in growth if r[4] == latest_end]
            # Two figures may end on the same day (Xiaomi: "2024Q3" and "2024-01~09"); the period label
            # breaks the tie, so the choice is deterministic ("2024Q3" sorts after "2024-01~09").
            company = sorted((r for r in latest if r[2] == ""), key=lambda r: r[3])
            if company:
                out["revenue_growth_pct"], out["revenue_growth_period"] = (
                    float(company[-1][5]),
                    company[-1][3],
                )
            else:
                revenue = {
                    r[2]: float(r[5]) for r in items if r[1] == "revenue" and r[4] == latest_end and r[2]
                }
                weights = [(revenue.get(r[2], 0.0), float(r[5])) for r in latest]
                total = sum(w for w, _g in weights)
                if total > 0:
                    value = sum(w * g for w, g in weights) / total
                else:
                    value = sum(g for _w, g in weights) / len(weights)
                out["revenue_growth_pct"] = round(value, 2)
                out["revenue_growth_period"] = f"{latest[0][3]} (segments)"
        figures[partner_id] = out
    return figures


def partner_strength(
    initiatives: list[InitiativeFacts], *, links_and_figures_read: tuple[list, list] | None = None
) -> dict[int, formulas.FormulaResult]:
    """``links_and_figures_read``: ``links_and_figures`` of these initiatives when the caller read it already."""
    ids = [i.id for i in initiatives]
    links, rows = links_and_figures_read or links_and_figures(ids)
    figures = _latest_partner_figures(rows)
    by_initiative: dict[int, list[tuple]] = defaultdict(list)
    for initiative_id, partner_id, role, name, _name_en, _bank in links:
        by_initiative[initiative_id].append((name, role, partner_id))

    # The result depends only on the initiative's (partner, role) pairs, and a portfolio repeats a few dozen
    # of them: each distinct set goes through the formula once per chunk. Results are not modified by readers.
    memo: dict[tuple, formulas.FormulaResult] = {}

    def result_for(pairs: list[tuple]) -> formulas.FormulaResult:
        key = tuple(sorted(pairs))
        found = memo.get(key)
        if found is None:
            partners = []
            for name, role, partner_id in key:
                f = figures.get(partner_id, {})
                partners.append(
                    formulas.PartnerFigures(
                        name=name,
                        role=role,
                        market_cap_change_pct=f.get("market_cap_change_pct"),
                        market_cap_period=f.get("market_cap_period"),
                        revenue_growth_pct=f.get("revenue_growth_pct"),
                        revenue_growth_period=f.get("revenue_growth_period"),
                    )
                )
            found = memo[key] = formulas.partner_strength(partners)
        return found

    return {i: result_for(by_initiative.get(i, [])) for i in ids}


# The KPIs of an initiative as both versions' sources read them, for a read that has the initiative's row as
# ``{initiative}`` (PostgreSQL: the one-initiative job's scope, scoring.services.jobs): a JSON array, in the order of
# their reads (by id), of [name, baseline, target, latest value, latest value on or before the scoring date, its
# date, baseline date, target date, weight]; ``{as_of}`` is the scoring date's SQL. ``kpis_from_json`` gives them
# back as ``{initiative id: [row]}`` with the ORM's types; ``kpi_attainment`` and ``kpi_attainment_v2`` take that
# instead of reading (tests/scoring/test_one_job_sources.py holds both equal to their reads).
KPIS_FOLDED = """(
SELECT json_agg(json_build_array(
    k.name, k.baseline, k.target,
    (SELECT o.value FROM {observation} o WHERE o.kpi_id = k.id ORDER BY o.observed_on DESC, o.id DESC LIMIT 1),
    d.value, d.observed_on, k.baseline_date, k.target_date, k.weight) ORDER BY k.id)
FROM {kpi} k
LEFT JOIN LATERAL (
    SELECT o.value, o.observed_on FROM {observation} o WHERE o.kpi_id = k.id AND o.observed_on <= {as_of}
    ORDER BY o.observed_on DESC, o.id DESC LIMIT 1
) d ON true
WHERE k.initiative_id = {initiative}.id)"""


def kpis_folded_sql(initiative: str, as_of: str) -> str:
    qn = connection.ops.quote_name
    return KPIS_FOLDED.format(
        observation=qn(KPIObservation._meta.db_table),
        kpi=qn(KPI._meta.db_table),
        initiative=initiative,
        as_of=as_of,
    )


def kpis_from_json(by_initiative: dict[int, list | None]) -> dict[int, list[tuple]]:
    """``{initiative id: KPIS_FOLDED's array (json.loads'd with parse_float=Decimal)}`` → ``{initiative id: [(name,
    baseline, target, latest, latest on or before, its date, baseline date, target date, weight)]}``, with the
    types the ORM reads (Decimal, date, None)."""

    def day(value):
        return None if value is None else datetime.date.fromisoformat(value)

    def number(value):
        return None if value is None else Decimal(value)  # an int (no decimals) too; a Decimal stays itself

    return {
        iid: [
            (
                name,
                number(base),
                number(target),
                number(latest),
                number(dated),
                day(on),
                day(start),
                day(end),
                number(w),
            )
            for name, base, target, latest, dated, on, start, end, w in (rows or [])
        ]
        for iid, rows in by_initiative.items()
    }


def kpi_attainment(
    initiatives: list[InitiativeFacts], *, kpis_read: dict[int, list[tuple]] | None = None
) -> dict[int, formulas.FormulaResult]:
    """``kpis_read``: ``kpis_from_json``'s rows of these initiatives, when the caller read them (one read less)."""
    ids = [i.id for i in initiatives]
    if kpis_read is not None:
        rows = [(iid, *row[:4]) for iid in ids for row in kpis_read.get(iid, [])]
    else:
        latest = (
            KPIObservation.objects.filter(kpi=OuterRef("pk"))
            .order_by("-observed_on", "-id")
            .values("value")[:1]
        )
        rows = (
            KPI.objects.filter(initiative_id__any_of=ids)
            .annotate(latest=Subquery(latest))
            .order_by("initiative_id", "id")
            .values_list("initiative_id", "name", "baseline", "target", "latest")
        )
    kpis: dict[int, list[formulas.KpiFigures]] = defaultdict(list)
    for initiative_id, name, baseline, target, value in rows:
        kpis[initiative_id].append(
            formulas.KpiFigures(
                name=name,
                baseline=float(baseline),
                target=None if target is None else float(target),
                latest=None if value is None else float(value),
            )
        )
    return {i: formulas.kpi_attainment(kpis.get(i, [])) for i in ids}


def data_protection(initiatives: list[InitiativeFacts]) -> dict[int, formulas.FormulaResult]:
    return {
        i.id: formulas.data_protection(
            formulas.DataSharingFacts(
                personal_data_categories=tuple(i.personal_data_categories or ()),
                lawful_basis=i.lawful_basis,
                security_assessment_done=i.security_assessment_done,
                cross_border_transfer=i.cross_border_transfer,
                transfer_mechanism=i.transfer_mechanism,
            )
        )
        for i in initiatives
    }


# -- version 2 ------------------------------------------------------------------------------------------------


def _by_date(initiatives: list[InitiativeFacts]) -> dict[datetime.date, list[InitiativeFacts]]:
    """The chunk by scoring date (one date in practice: a job's chunks share theirs)."""
    today = None
    groups: dict[datetime.date, list[InitiativeFacts]] = defaultdict(list)
    for fact in initiatives:
        as_of = fact.as_of
        if as_of is None:
            as_of = today = today or timezone.localdate()
        groups[as_of].append(fact)
    return groups


def _dated(result: formulas.FormulaResult, as_of: datetime.date, **extra) -> formulas.FormulaResult:
    """The result with the scoring date (and ``extra``) in its data: part of the inputs hash and the breakdown."""
    return formulas.FormulaResult(
        result.value, result.rationale, {**result.data, "as_of": as_of.isoformat(), **extra}
    )


def _latest(rows: list[tuple]) -> tuple | None:
    # By period end, the period label breaking a tie ("2024Q3" after "2024-01~09", as version 1 does).
    return max(rows, key=lambda r: (r[5], r[4])) if rows else None


def _partner_figures_v2(rows: Iterable[tuple]) -> dict[int, dict]:
    """{partner_id: figures for PartnerFiguresV2}: latest market cap, latest segment period, latest company growth,
    from the partners' figure rows (``_METRIC_COLUMNS``)."""
    by_partner: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_partner[row[0]].append(row)
    figures: dict[int, dict] = {}
    for partner_id, items in by_partner.items():
        out: dict = {}
        cap = _latest([r for r in items if r[1] == "market_cap_change_pct" and not r[2]])
        if cap:
            out.update(
                market_cap_change_pct=float(cap[6]), market_cap_period=cap[4], market_cap_period_end=cap[5]
            )
        company = _latest([r for r in items if r[1] == "revenue_growth_pct" and not r[2]])
        if company:
            out.update(
                company_growth_pct=float(company[6]),
                company_growth_period=company[4],
                company_growth_period_end=company[5],
            )
        segment_rows = [r for r in items if r[2] and r[1] in ("revenue", "revenue_growth_pct")]
        latest = _latest(segment_rows)
        if latest:
            segments: dict[str, dict] = {}
            for r in segment_rows:
                if (r[4], r[5]) != (latest[4], latest[5]):
                    continue
                segment = segments.setdefault(r[2], {"revenue": None, "growth_pct": None, "part_of": ""})
                segment["revenue" if r[1] == "revenue" else "growth_pct"] = float(r[6])
                segment["part_of"] = segment["part_of"] or r[3]
            out.update(
                segments=tuple(formulas_v2.Segment(name, **v) for name, v in sorted(segments.items())),
                segment_period=latest[4],
                segment_period_end=latest[5],
            )
        figures[partner_id] = out
    return figures


def partner_strength_v2(
    initiatives: list[InitiativeFacts], *, links_and_figures_read: tuple[list, list] | None = None
) -> dict[int, formulas.FormulaResult]:
    """``links_and_figures_read``: as ``partner_strength``'s."""
    ids = [i.id for i in initiatives]
    links, rows = links_and_figures_read or links_and_figures(ids)
    figures = _partner_figures_v2(rows)
    by_initiative: dict[int, list[tuple]] = defaultdict(list)
    for initiative_id, partner_id, role, name_zh, name_en, _bank in links:
        by_initiative[initiative_id].append((name_zh or name_en, role, partner_id, name_en or name_zh))
    stale_after = int(settings.SCORECARD_PARTNER_FIGURES_STALE_DAYS)

    # As in version 1, each distinct (date, partners and roles) goes through the formula once per chunk.
    memo: dict[tuple, formulas.FormulaResult] = {}

    def result_for(as_of: datetime.date, pairs: list[tuple]) -> formulas.FormulaResult:
        key = (as_of, tuple(sorted(pairs)))
        found = memo.get(key)
        if found is None:
            partners = [
                formulas_v2.PartnerFiguresV2(name=name, role=role, **figures.get(partner_id, {}))
                for name, role, partner_id, _en in key[1]
            ]
            result = formulas_v2.partner_strength_v2(partners, as_of=as_of, stale_after_days=stale_after)
            # For the reader (scoring.describe): the English name, and each segment with what it is part of.
            for row, partner, (_name, _role, _pid, name_en) in zip(
                result.data.get("partners", []), partners, key[1], strict=True
            ):
                row["name_en"] = name_en
                row["segments"] = [
                    {"name": s.name, "part_of": s.part_of, "revenue": s.revenue, "growth_pct": s.growth_pct}
                    for s in partner.segments
                ]
            found = memo[key] = _dated(result, as_of, stale_after_days=stale_after)
        return found

    return {
        fact.id: result_for(as_of, by_initiative.get(fact.id, []))
        for as_of, facts in _by_date(initiatives).items()
        for fact in facts
    }


def kpi_attainment_v2(
    initiatives: list[InitiativeFacts],
    *,
    kpis_read: dict[int, list[tuple]] | None = None,
    kpis_read_as_of: datetime.date | None = None,
) -> dict[int, formulas.FormulaResult]:
    """``kpis_read``: ``kpis_from_json``'s rows of these initiatives read for the scoring date ``kpis_read_as_of``,
    when the caller read them (one read less); initiatives of another scoring date are read here."""
    results: dict[int, formulas.FormulaResult] = {}
    for as_of, facts in _by_date(initiatives).items():
        ids = [f.id for f in facts]
        if kpis_read is not None and kpis_read_as_of == as_of:
            rows = [(iid, *row[:3], *row[4:]) for iid in ids for row in kpis_read.get(iid, [])]
        else:
            # The latest observation on or before the scoring date: a later one is not known on that day.
            observed = KPIObservation.objects.filter(kpi=OuterRef("pk"), observed_on__lte=as_of).order_by(
                "-observed_on", "-id"
            )
            rows = (
                KPI.objects.filter(initiative_id__any_of=ids)
                .annotate(
                    latest=Subquery(observed.values("value")[:1]),
                    latest_on=Subquery(observed.values("observed_on")[:1]),
                )
                .order_by("initiative_id", "id")
                .values_list(
                    "initiative_id",
                    "name",
                    "baseline",
                    "target",
                    "latest",
                    "latest_on",
                    "baseline_date",
                    "target_date",
                    "weight",
                )
            )
        kpis: dict[int, list[formulas_v2.KpiPath]] = defaultdict(list)
        for initiative_id, name, baseline, target, value, value_on, start, target_date, weight in rows:
            kpis[initiative_id].append(
                formulas_v2.KpiPath(
                    name=name,
                    baseline=float(baseline),
                    target=None if target is None else float(target),
                    latest=None if value is None else float(value),
                    latest_on=value_on,
                    start=start,
                    target_date=target_date,
                    weight=float(weight),
                )
            )
        for i in ids:
            results[i] = _dated(formulas_v2.kpi_attainment_v2(kpis.get(i, []), as_of=as_of), as_of)
    return results


# Our choice keys in the formula's terms. The formula asks only whether an Art. 13 basis is recorded; "other
# basis under Art. 13" is one (its items 4–7). A cross-border exemption under the 2024 provisions is not one of
# Art. 38's three mechanisms that rubric version 2 accepts: it passes through as itself and fails Art. 38.
_BASES = {
    LawfulBasis.SEPARATE_CONSENT: "separate_consent",
    LawfulBasis.CONTRACT: "contract",
    LawfulBasis.LEGAL_DUTY: "legal_duty",
    LawfulBasis.OTHER: "other_law",
}
_MECHANISMS = {
    TransferMechanism.CAC_ASSESSMENT: "cac_security_assessment",
    TransferMechanism.STANDARD_CONTRACT: "standard_contract",
    TransferMechanism.CERTIFICATION: "certification",
}
_UNLICENSED_ROUTE = "credit-related data reaches the bank without a licensed credit-reporting agency"


def _sensitive(category: str) -> bool | None:
    """PIPL Art. 28 as formulas_v2.SENSITIVE_CATEGORIES maps our categories; an unknown key stays unknown."""
    if category in formulas_v2.SENSITIVE_CATEGORIES:
        return True
    return False if category in PersonalDataCategory.values else None


def data_protection_v2(initiatives: list[InitiativeFacts]) -> dict[int, formulas.FormulaResult]:
    ids = [i.id for i in initiatives]
    facts = {
        row[0]: row
        for row in Initiative.objects.filter(id__any_of=ids).values_list(
            "id",
            "no_personal_data",
            "provided_to_partner",
            "provision_separate_consent",
            "cross_border_transfer",
            "cross_border_destination",
            "transfer_mechanism",
            "cross_border_separate_consent",
            "credit_use",
            "credit_route_agency_id",
            "credit_route_agency__name_zh_hans",
            "credit_route_agency__name_en",
            "impact_assessment_on",
            "processing_agreement",
        )
    }
    categories: dict[int, list[formulas_v2.DataCategory]] = defaultdict(list)
    for initiative_id, category, basis, consent in (
        InitiativeDataCategory.objects.filter(initiative_id__any_of=ids)
        .order_by("initiative_id", "category")
        .values_list("initiative_id", "category", "lawful_basis", "separate_consent")
    ):
        categories[initiative_id].append(
            formulas_v2.DataCategory(category, _BASES.get(basis, basis), consent, _sensitive(category))
        )
    results: dict[int, formulas.FormulaResult] = {}
    for as_of, group in _by_date(initiatives).items():
        agencies = {
            facts[f.id][9] for f in group if f.id in facts and facts[f.id][8] is True and facts[f.id][9]
        }
        licensed: set[int] = set()
        if agencies:
            licensed = set(credit_agency_licensed(sorted(agencies), as_of=as_of))
        for fact in group:
            row = facts.get(fact.id)
            if row is None:  # deleted since the chunk was read: nothing is known
                unknown = formulas_v2.data_protection_v2(formulas_v2.PersonalDataFacts(), as_of=as_of)
                results[fact.id] = _dated(unknown, as_of)
                continue
            (
                _id,
                no_personal_data,
                provided,
                provision_consent,
                cross_border,
                destination,
                mechanism,
                cross_border_consent,
                credit_use,
                agency_id,
                agency_zh,
                agency_en,
                impact_on,
                agreement,
            ) = row
            agency_name = (agency_zh or agency_en or "") if agency_id else ""
            route_licensed = agency_id is not None and agency_id in licensed
            result = formulas_v2.data_protection_v2(
                formulas_v2.PersonalDataFacts(
                    no_personal_data=no_personal_data,
                    # None when none is recorded: the formula names the categories as missing.
                    categories=tuple(categories[fact.id]) if categories.get(fact.id) else None,
                    provided_to_partner=provided,
                    provision_separate_consent=provision_consent,
                    cross_border=cross_border,
                    cross_border_destination=destination,
                    cross_border_mechanism=_MECHANISMS.get(mechanism, mechanism),
                    cross_border_separate_consent=cross_border_consent,
                    credit_use=credit_use,
                    # 断直连: only an agency licensed on the scoring date counts as a route.
                    credit_route_agency=agency_name if route_licensed else "",
                    impact_assessment_on=impact_on,
                    processing_agreement=agreement,
                ),
                as_of=as_of,
            )
            for breach in result.data.get("breaches", []):  # the category a breach is about, for the reader
                what = breach["what"]
                if breach["rule"] == "PIPL Art. 13":
                    breach["category"] = what.removeprefix("no lawful basis for ")
                elif breach["rule"] == "PIPL Art. 28–29":
                    breach["category"] = what.removeprefix("sensitive ").removesuffix(
                        " without separate consent"
                    )
            # The value too (the reader tells "assessment within three years" from the step it reached), and the
            # mechanism as recorded (the formula's data holds it in its own terms).
            extra: dict = {"value": result.value, "transfer_mechanism": mechanism}
            if agency_id is not None and credit_use is True:
                extra["credit_route_agency_recorded"] = {
                    "name": agency_zh or agency_en,
                    "name_en": agency_en or agency_zh,
                    "licensed": route_licensed,
                }
            if agency_id is not None and credit_use is True and not route_licensed:
                # The formula saw no route; say which agency was recorded and why it does not count.
                note = f"{agency_name} holds no credit-reporting licence valid on {as_of.isoformat()}"
                for breach in result.data.get("breaches", []):
                    if breach["rule"] == "断直连":
                        breach["agency"] = agency_name
                result = formulas.FormulaResult(
                    result.value,
                    result.rationale.replace(_UNLICENSED_ROUTE, f"{_UNLICENSED_ROUTE} ({note})"),
                    result.data,
                )
            results[fact.id] = _dated(result, as_of, **extra)
    return results


SOURCES = {
    "partner_strength": partner_strength,
    "kpi_attainment": kpi_attainment,
    "data_protection": data_protection,
    "partner_strength_v2": partner_strength_v2,
    "kpi_attainment_v2": kpi_attainment_v2,
    "data_protection_v2": data_protection_v2,
}
DESCRIPTIONS = {
    **formulas.DESCRIPTIONS,
    "partner_strength_v2": "Version 2: market-cap band and the revenue-weighted growth of the partner's segments "
    "(none counted twice; company growth only without segments), lead twice; a lead without figures → unrated; "
    "figures older than the configured age marked stale.",
    "kpi_attainment_v2": "Version 2: 4 × the KPI-weighted mean attainment against the path from the baseline "
    "date to the target date; no KPI due yet → unrated.",
    "data_protection_v2": "Version 2: PIPL facts — any breach of Art. 13, 23, 28–29, 38–39 or 断直连 → 0; every "
    "category with its basis → 2; + impact assessment within three years → 3; + processing agreement → 4; "
    "recorded 'no personal data' → 4; facts not recorded → unrated.",
}
