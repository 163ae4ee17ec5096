"""Formulas that turn an initiative's data into ratings (0–4) for the computed criteria.

Each formula is a pure function (no Django, no I/O) returning a ``FormulaResult`` — a
``(value, rationale, data)`` triple: ``value`` is the rating on the criterion's 0–4 scale, or ``None`` when
there is nothing to compute it from (the criterion is then unrated); ``rationale`` is a short English account
of the figures and the steps; ``data`` holds the figures used (JSON-able), so a breakdown row can show them.
``result.as_rating(key)`` turns it into an engine ``RatingInput``.

The formulas (RUBRIC.md, "Formulas for computed criteria"):

* ``partner_strength`` — each partner's latest market-cap change and segment revenue growth, banded to 0–4,
  averaged with the lead partner counted twice.
* ``kpi_attainment`` — how far each KPI has moved from its baseline towards its target, 0–100 %, averaged and
  scaled to 0–4.
* ``data_protection`` — a ladder of personal-data safeguards (lawful basis, PIPL Art. 55 impact assessment,
  cross-border transfer mechanism), 0–4.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .engine import RatingInput

__all__ = [
    "DESCRIPTIONS",
    "REGISTRY",
    "DataSharingFacts",
    "FormulaResult",
    "KpiFigures",
    "PartnerFigures",
    "attainment_fraction",
    "data_protection",
    "kpi_attainment",
    "market_cap_band",
    "partner_strength",
    "revenue_growth_band",
]

LEAD_ROLE = "lead"
ROLE_WEIGHTS = {LEAD_ROLE: 2, "other": 1}  # any role other than "lead" counts once


class FormulaResult(NamedTuple):
    """What a formula returns: unpacks as ``value, rationale, data``."""

    value: float | None
    rationale: str
    data: dict

    def as_rating(self, criterion_key: str) -> RatingInput:
        return RatingInput(
            criterion_key=criterion_key, value=self.value, rationale=self.rationale, data=self.data
        )


def _figure(x: object, what: str) -> float | None:
    # Figures arrive as Decimal from the database; they are used as floats, and must be finite.
    if x is None:
        return None
    if isinstance(x, bool):
        raise ValueError(f"{what} must be a number, got {x!r}")
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {x!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} must be finite, got {x!r}")
    return f


def _pct(x: float) -> str:
    return f"{x:+g}%"


def _num(x: float) -> str:
    # Up to three decimals, no trailing zeros, no exponent: 2.5, 2.833, 4, 1200000.
    r = round(x, 3)
    return str(int(r)) if r == int(r) else repr(r)


# -- partner strength ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartnerFigures:
    """One partner of an initiative and its latest reference figures (percentages, e.g. 43.0 for +43 %)."""

    name: str
    role: str  # "lead" or anything else
    market_cap_change_pct: float | None = None
    market_cap_period: str | None = None
    revenue_growth_pct: float | None = None
    revenue_growth_period: str | None = None


def market_cap_band(m: float) -> int:
    """Band of a market-cap change m (%): m ≥ 50 → 4; 20 ≤ m < 50 → 3; 0 ≤ m < 20 → 2; −20 ≤ m < 0 → 1;
    m < −20 → 0."""
    if m >= 50:
        return 4
    if m >= 20:
        return 3
    if m >= 0:
        return 2
    if m >= -20:
        return 1
    return 0


def revenue_growth_band(g: float) -> int:
    """Band of a segment revenue growth g (%): g ≥ 20 → 4; 10 ≤ g < 20 → 3; 0 ≤ g < 10 → 2; −10 ≤ g < 0 → 1;
    g < −10 → 0."""
    if g >= 20:
        return 4
    if g >= 10:
        return 3
    if g >= 0:
        return 2
    if g >= -10:
        return 1
    return 0


def partner_strength(partners: Sequence[PartnerFigures]) -> FormulaResult:
    """Partner strength (合作方实力), 0–4, from the partners' reference figures.

    For each partner p with any figure::

        value_p = band_m(m_p)                        if it has only a market-cap change m_p (%)
                = band_g(g_p)                        if it has only a segment revenue growth g_p (%)
                = (band_m(m_p) + band_g(g_p)) / 2    if it has both

    with ``band_m``: m ≥ 50 → 4; 20 ≤ m < 50 → 3; 0 ≤ m < 20 → 2; −20 ≤ m < 0 → 1; m < −20 → 0 and
    ``band_g``: g ≥ 20 → 4; 10 ≤ g < 20 → 3; 0 ≤ g < 10 → 2; −10 ≤ g < 0 → 1; g < −10 → 0. Then::

        value = Σ_p r_p·value_p / Σ_p r_p,   r_p = 2 for the lead partner, 1 for any other

    over the partners with any figure. No figures for any partner → ``None`` (unrated). Partners without
    figures are listed in ``data`` and the rationale but do not count.
    """
    rows: list[dict] = []
    parts: list[str] = []
    weighted: list[float] = []
    weights: list[int] = []
    for p in partners:
        m = _figure(p.market_cap_change_pct, f"market-cap change of {p.name}")
        g = _figure(p.revenue_growth_pct, f"revenue growth of {p.name}")
        role = (p.role or "").strip().lower()
        r = ROLE_WEIGHTS[LEAD_ROLE] if role == LEAD_ROLE else ROLE_WEIGHTS["other"]
        m_band = None if m is None else market_cap_band(m)
        g_band = None if g is None else revenue_growth_band(g)
        bands = [b for b in (m_band, g_band) if b is not None]
        value = sum(bands) / len(bands) if bands else None
        rows.append(
            {
                "name": p.name,
                "role": p.role,
                "role_weight": r,
                "market_cap_change_pct": m,
                "market_cap_period": p.market_cap_period,
                "market_cap_band": m_band,
                "revenue_growth_pct": g,
                "revenue_growth_period": p.revenue_growth_period,
                "revenue_growth_band": g_band,
                "value": value,
            }
        )
        label = f"{p.name} ({p.role or 'other'})"
        if value is None:
            parts.append(f"{label}: no figures, not counted")
            continue
        steps = []
        if m is not None:
            steps.append(f"market cap {_pct(m)}{_period(p.market_cap_period)} → {m_band}")
        if g is not None:
            steps.append(f"revenue growth {_pct(g)}{_period(p.revenue_growth_period)} → {g_band}")
        avg = f" → {_num(value)}" if len(bands) == 2 else ""
        parts.append(f"{label}: {', '.join(steps)}{avg}")
        weighted.append(r * value)
        weights.append(r)
    if not weights:
        reason = (
            "No partners recorded." if not rows else "No partner has a market-cap or revenue-growth figure."
        )
        detail = "; ".join(parts)
        return FormulaResult(None, f"{reason} {detail}".strip(), {"partners": rows, "value": None})
    # Half-points times small integers: every product and sum here is exact in binary floating point.
    value = math.fsum(weighted) / sum(weights)
    if len(weights) > 1:
        terms = " + ".join(f"{w}×{_num(v / w)}" for w, v in zip(weights, weighted, strict=True))
        parts.append(f"weighted mean ({terms}) / {sum(weights)} = {_num(value)}")
    return FormulaResult(value, "; ".join(parts) + ".", {"partners": rows, "value": value})


def _period(period: str | None) -> str:
    return f" ({period})" if period else ""


# -- KPI attainment -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """One KPI of an initiative: its baseline, target and latest observation (None if not observed yet)."""

    name: str
    baseline: float | None
    target: float | None
    latest: float | None


def attainment_fraction(baseline: float | None, target: float | None, latest: float | None) -> float | None:
    """One KPI's a = clip((latest − baseline) / (target − baseline), 0, 1); None when it cannot be assessed
    (no baseline, target or observation, or a target equal to the baseline) — as ``kpi_attainment`` counts it."""
    if baseline is None or target is None or latest is None or target == baseline:
        return None
    return min(1.0, max(0.0, (latest - baseline) / (target - baseline)))


def kpi_attainment(kpis: Sequence[KpiFigures]) -> FormulaResult:
    """KPI attainment (KPI达成), 0–4, from each KPI's latest observation against its target.

    For each KPI k with a baseline, a target different from the baseline, and a latest observation::

        a_k = clip((latest_k − baseline_k) / (target_k − baseline_k), 0, 1)

    so 0 means no progress (or a move the wrong way) and 1 means the target is met or beaten. A KPI whose
    target is below its baseline (a cost, a default rate) works the same way: the fraction is positive as the
    value falls. Then ``value = 4 × mean(a_k)``. No such KPI → ``None`` (unrated). KPIs that cannot be
    assessed are listed with the reason and do not count.
    """
    rows: list[dict] = []
    parts: list[str] = []
    attained: list[float] = []
    for k in kpis:
        baseline = _figure(k.baseline, f"baseline of KPI {k.name}")
        target = _figure(k.target, f"target of KPI {k.name}")
        latest = _figure(k.latest, f"latest value of KPI {k.name}")
        row = {"name": k.name, "baseline": baseline, "target": target, "latest": latest, "attainment": None}
        if target is None:
            reason = "no target"
        elif baseline is None:
            reason = "no baseline"
        elif target == baseline:
            reason = "target equals baseline"
        elif latest is None:
            reason = "no observation yet"
        else:
            reason = ""
        if reason:
            row["counted"] = False
            row["reason"] = reason
            rows.append(row)
            parts.append(f"{k.name}: {reason}, not counted")
            continue
        raw = (latest - baseline) / (target - baseline)
        a = min(1.0, max(0.0, raw))
        row["attainment"] = a
        row["counted"] = True
        rows.append(row)
        attained.append(a)
        clipped = f" (clipped from {raw:.0%})" if a != raw else ""
        parts.append(
            f"{k.name}: baseline {_num(baseline)}, target {_num(target)}, latest {_num(latest)} → "
            f"{a:.0%}{clipped}"
        )
    if not attained:
        reason = "No KPI with a target and an observation." if rows else "No KPIs recorded."
        detail = "; ".join(parts)
        return FormulaResult(None, f"{reason} {detail}".strip(), {"kpis": rows, "mean_attainment": None})
    mean = math.fsum(attained) / len(attained)
    value = 4.0 * mean
    parts.append(f"mean attainment {mean:.0%} × 4 = {_num(value)}")
    return FormulaResult(value, "; ".join(parts) + ".", {"kpis": rows, "mean_attainment": mean})


# -- data protection ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataSharingFacts:
    """What an initiative records about the personal data it shares with the partner."""

    personal_data_categories: Sequence[str] = ()
    lawful_basis: str = ""
    security_assessment_done: bool = False
    cross_border_transfer: bool = False
    transfer_mechanism: str = ""


def data_protection(facts: DataSharingFacts) -> FormulaResult:
    """Data-protection readiness (个人信息保护), 0–4, a ladder of safeguards for shared personal data.

    ::

        no personal-data categories shared                                      → 4
        otherwise: no lawful basis recorded                                     → 0
                   lawful basis recorded (PIPL Art. 23 consent or Art. 13)      → 2
                   + security / impact assessment done (PIPL Art. 55)           → 3
                   + no cross-border transfer, or its transfer mechanism recorded → 4

    Each step needs the ones before it: a 4 with personal data requires the basis and the assessment.
    Always computable, never ``None``.
    """
    categories = [c.strip() for c in facts.personal_data_categories if c and c.strip()]
    basis = (facts.lawful_basis or "").strip()
    mechanism = (facts.transfer_mechanism or "").strip()
    assessed = bool(facts.security_assessment_done)
    cross_border = bool(facts.cross_border_transfer)
    data = {
        "personal_data_categories": categories,
        "lawful_basis": basis,
        "security_assessment_done": assessed,
        "cross_border_transfer": cross_border,
        "transfer_mechanism": mechanism,
    }
    if not categories:
        return FormulaResult(4.0, "No personal data shared → 4.", data)
    steps = [f"Personal data shared ({', '.join(categories)})"]
    if not basis:
        steps.append("no lawful basis recorded → 0")
        return FormulaResult(0.0, "; ".join(steps) + ".", data)
    value = 2.0
    steps.append(f"lawful basis: {basis} → 2")
    if not assessed:
        steps.append("no security assessment (PIPL Art. 55) → stays 2")
        return FormulaResult(value, "; ".join(steps) + ".", data)
    value = 3.0
    steps.append("security assessment done → 3")
    if not cross_border:
        value = 4.0
        steps.append("no cross-border transfer → 4")
    elif mechanism:
        value = 4.0
        steps.append(f"cross-border transfer under {mechanism} → 4")
    else:
        steps.append("cross-border transfer without a recorded mechanism → stays 3")
    return FormulaResult(value, "; ".join(steps) + ".", data)


# -- registry -----------------------------------------------------------------------------------------------

# The named sources a computed criterion can take its rating from (CriterionSpec.key == the source name in the
# default rubric). Each takes the figures named in its signature and returns a FormulaResult.
REGISTRY: dict[str, Callable[..., FormulaResult]] = {
    "partner_strength": partner_strength,  # partners' market-cap change and revenue growth, lead twice
    "kpi_attainment": kpi_attainment,  # KPIs' latest observations against their targets
    "data_protection": data_protection,  # lawful basis, impact assessment, cross-border mechanism
}

DESCRIPTIONS: dict[str, str] = {
    "partner_strength": "Partners' latest market-cap change and segment revenue growth, banded 0–4; "
    "the lead partner counts twice.",
    "kpi_attainment": "4 × the mean share of the way each KPI has moved from its baseline to its target.",
    "data_protection": "Lawful basis (2), plus PIPL impact assessment (3), plus a cross-border mechanism or "
    "no transfer (4); no personal data shared → 4.",
}
