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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from partnerships.models import KPI, InitiativePartner, KPIObservation, PartnerMetric

from . import formulas

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


def _latest_partner_figures(partner_ids: Iterable[int]) -> dict[int, dict]:
    """{partner_id: {market_cap_change_pct, market_cap_period, revenue_growth_pct, revenue_growth_period}}."""
    rows = PartnerMetric.objects.filter(
        partner_id__in=set(partner_ids), metric__in=["market_cap_change_pct", "revenue_growth_pct", "revenue"]
    ).values_list("partner_id", "metric", "segment", "period", "period_end", "value")
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


def partner_strength(initiatives: list[InitiativeFacts]) -> dict[int, formulas.FormulaResult]:
    ids = [i.id for i in initiatives]
    links = list(
        InitiativePartner.objects.filter(initiative_id__any_of=ids).values_list(
            "initiative_id", "partner_id", "role", "partner__name_zh_hans"
        )
    )
    figures = _latest_partner_figures(link[1] for link in links)
    by_initiative: dict[int, list[tuple]] = defaultdict(list)
    for initiative_id, partner_id, role, name in links:
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


def kpi_attainment(initiatives: list[InitiativeFacts]) -> dict[int, formulas.FormulaResult]:
    ids = [i.id for i in initiatives]
    latest = (
        KPIObservation.objects.filter(kpi=OuterRef("pk")).order_by("-observed_on", "-id").values("value")[:1]
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


SOURCES = {
    "partner_strength": partner_strength,
    "kpi_attainment": kpi_attainment,
    "data_protection": data_protection,
}
DESCRIPTIONS = formulas.DESCRIPTIONS
