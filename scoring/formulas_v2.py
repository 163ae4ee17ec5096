"""Version 2 of the computed criteria's formulas (RUBRIC.md, "Version 2"): unknown is never better than known.

Pure functions like scoring.formulas (no Django, no I/O), returning the same ``FormulaResult``. Version 1's
functions stay as they were, so version 1 scores are reproduced bit for bit; a rubric version names which formula
its computed criteria take (``computed_from``: ``partner_strength`` or ``partner_strength_v2``).

What changes, and the property every function here keeps — **blanking any input never raises the value and never
turns an unrated result into a rated one above what the known input gave**:

* ``partner_strength_v2`` — a partner's growth is the revenue-weighted growth of its segments that are not part
  of another segment (Tencent's games lines sit inside 增值服务 and are not counted twice); company-level growth
  only where no segment figures exist, and the row says which. A missing market-cap change or growth counts as
  band 0 in the partner's mean, and a partner with no figures at all counts 0, so a gap never lifts the mean; a
  *lead* partner with no figures makes the criterion unrated, naming the partner. Figures older than
  ``stale_after_days`` (18 months by default) before ``as_of`` mark the row stale.
* ``kpi_attainment_v2`` — each KPI is judged against where it should be by now: expected(t) = baseline +
  (target − baseline) × clip((t − start) / (target date − start), 0, 1); a = clip((latest − baseline) /
  (expected(t_latest) − baseline), 0, 1); a KPI whose expected value still equals its baseline is not yet
  counted. Value = 4 × the KPI-weighted mean of a. A KPI with no target, no start date or no target date counts
  a = 0 ("missing: …"); no observation while one is due counts a = 0 at ``as_of``. No KPI due yet → unrated.
* ``data_protection_v2`` — personal data as facts (PIPL Art. 13/23/28–29/38–39/55, 断直连); see its docstring.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .formulas import (
    LEAD_ROLE,
    ROLE_WEIGHTS,
    FormulaResult,
    _figure,
    _num,
    _pct,
    market_cap_band,
    revenue_growth_band,
)

__all__ = [
    "CROSS_BORDER_MECHANISMS",
    "SENSITIVE_CATEGORIES",
    "DataCategory",
    "KpiPath",
    "PartnerFiguresV2",
    "PersonalDataFacts",
    "Segment",
    "data_protection_v2",
    "expected_value",
    "kpi_attainment_v2",
    "partner_strength_v2",
]

STALE_AFTER_DAYS = 548  # 18 months


# -- partner strength ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment's figures in the partner's latest period with segment figures."""

    name: str
    revenue: float | None
    growth_pct: float | None
    part_of: str = ""  # the segment this one is inside (its revenue is already counted there)


@dataclass(frozen=True, slots=True)
class PartnerFiguresV2:
    name: str
    role: str
    market_cap_change_pct: float | None = None
    market_cap_period: str | None = None
    market_cap_period_end: datetime.date | None = None
    segments: Sequence[Segment] = ()
    segment_period: str | None = None
    segment_period_end: datetime.date | None = None
    company_growth_pct: float | None = None
    company_growth_period: str | None = None
    company_growth_period_end: datetime.date | None = None


def segment_growth(segments: Sequence[Segment]) -> tuple[float | None, list[str], list[str]]:
    """Revenue-weighted growth of the top-level segments: (growth, counted names, left-out names with reason).

    A segment that is part of another is left out (its revenue is inside its parent's); a top-level segment
    without a revenue or a growth figure makes the weighting unknown → ``None``.
    """
    counted, left_out = [], []
    weighted, total = [], 0.0
    for s in segments:
        if s.part_of:
            left_out.append(f"{s.name} (part of {s.part_of})")
            continue
        revenue = _figure(s.revenue, f"revenue of segment {s.name}")
        growth = _figure(s.growth_pct, f"growth of segment {s.name}")
        if revenue is None or growth is None or revenue <= 0:
            return None, counted, [*left_out, f"{s.name} (no revenue or growth figure)"]
        counted.append(s.name)
        weighted.append(revenue * growth)
        total += revenue
    if not counted:
        return None, counted, left_out
    return math.fsum(weighted) / total, counted, left_out


def _stale(end: datetime.date | None, as_of: datetime.date, stale_after_days: int) -> bool:
    return end is not None and (as_of - end).days > stale_after_days


def partner_strength_v2(
    partners: Sequence[PartnerFiguresV2],
    *,
    as_of: datetime.date,
    stale_after_days: int = STALE_AFTER_DAYS,
) -> FormulaResult:
    """Partner strength (合作方实力), version 2, 0–4.

    value_p = (band_m(m_p) + band_g(g_p)) / 2, a missing figure counting band 0; g_p is the segments' growth
    (``segment_growth``) or, only where no segment figures exist, the company's. value = Σ r_p·value_p / Σ r_p
    (lead r = 2, others 1). No partners, or a lead partner with no figure at all → ``None`` (unrated).
    """
    rows: list[dict] = []
    parts: list[str] = []
    weighted: list[float] = []
    weights: list[int] = []
    missing_lead: list[str] = []
    for p in partners:
        role = (p.role or "").strip().lower()
        r = ROLE_WEIGHTS[LEAD_ROLE] if role == LEAD_ROLE else ROLE_WEIGHTS["other"]
        m = _figure(p.market_cap_change_pct, f"market-cap change of {p.name}")
        g, counted, left_out = segment_growth(p.segments) if p.segments else (None, [], [])
        basis = "segments" if g is not None else ""
        if not p.segments:  # company-level growth only where no segment figures exist at all
            g = _figure(p.company_growth_pct, f"revenue growth of {p.name}")
            basis = "company" if g is not None else ""
        m_band = None if m is None else market_cap_band(m)
        g_band = None if g is None else revenue_growth_band(g)
        ends = [p.market_cap_period_end if m is not None else None]
        ends.append(
            (p.segment_period_end if basis == "segments" else p.company_growth_period_end)
            if g is not None
            else None
        )
        stale = any(_stale(e, as_of, stale_after_days) for e in ends)
        has_any = m is not None or g is not None
        value = ((m_band or 0) + (g_band or 0)) / 2 if has_any else 0.0
        rows.append(
            {
                "name": p.name,
                "role": p.role,
                "role_weight": r,
                "market_cap_change_pct": m,
                "market_cap_period": p.market_cap_period,
                "market_cap_band": m_band,
                "revenue_growth_pct": None if g is None else round(g, 4),
                "revenue_growth_basis": basis,
                "revenue_growth_period": (
                    p.segment_period if basis == "segments" else p.company_growth_period
                )
                if g is not None
                else None,
                "segments_counted": counted,
                "segments_left_out": left_out,
                "revenue_growth_band": g_band,
                "stale": stale,
                "value": value if has_any else None,
            }
        )
        label = f"{p.name} ({p.role or 'other'})"
        if not has_any:
            if r == ROLE_WEIGHTS[LEAD_ROLE]:
                missing_lead.append(p.name)
            parts.append(f"{label}: no figures → counts 0")
        else:
            steps = [
                f"market cap {_pct(m)} → {m_band}" if m is not None else "no market-cap figure → 0",
                f"revenue growth {_pct(round(g, 2))} ({basis}) → {g_band}"
                if g is not None
                else "no growth figure → 0",
            ]
            stale_note = " (stale figures)" if stale else ""
            parts.append(f"{label}: {', '.join(steps)} → {_num(value)}{stale_note}")
        weighted.append(r * value)
        weights.append(r)
    if missing_lead:
        reason = f"missing: figures of the lead partner {', '.join(missing_lead)}"
        lacking = [f"figures of the lead partner {name}" for name in missing_lead]
        return FormulaResult(
            None, reason + ". " + "; ".join(parts), {"partners": rows, "value": None, "missing": lacking}
        )
    if not weights:
        return FormulaResult(
            None, "missing: partners", {"partners": rows, "value": None, "missing": ["partners"]}
        )
    value = math.fsum(weighted) / sum(weights)
    if len(weights) > 1:
        parts.append(f"weighted mean / {sum(weights)} = {_num(value)}")
    return FormulaResult(value, "; ".join(parts) + ".", {"partners": rows, "value": value})


# -- KPI attainment -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiPath:
    """One KPI with its path: baseline at ``start``, target at ``target_date``, the latest observation."""

    name: str
    baseline: float | None
    target: float | None
    latest: float | None = None
    latest_on: datetime.date | None = None
    start: datetime.date | None = None
    target_date: datetime.date | None = None
    weight: float = 1.0


def expected_value(
    baseline: float, target: float, start: datetime.date, target_date: datetime.date, t: datetime.date
) -> float:
    """Where the KPI should be on day ``t``: linear from (start, baseline) to (target_date, target), flat after.
    With target_date ≤ start the whole target is expected from target_date on."""
    if target_date <= start:
        return target if t >= target_date else baseline
    share = min(1.0, max(0.0, (t - start).days / (target_date - start).days))
    return baseline + (target - baseline) * share


def kpi_attainment_v2(kpis: Sequence[KpiPath], *, as_of: datetime.date) -> FormulaResult:
    """KPI attainment (KPI达成), version 2, 0–4: 4 × the weighted mean of each due KPI's a (module docstring)."""
    rows: list[dict] = []
    parts: list[str] = []
    num: list[float] = []
    den: list[float] = []
    missing: list[str] = []
    for k in kpis:
        weight = _figure(k.weight, f"weight of KPI {k.name}")
        if weight is None or weight <= 0:
            raise ValueError(f"weight of KPI {k.name} must be > 0, got {k.weight!r}")
        baseline = _figure(k.baseline, f"baseline of KPI {k.name}")
        target = _figure(k.target, f"target of KPI {k.name}")
        latest = _figure(k.latest, f"latest value of KPI {k.name}")
        row: dict = {
            "name": k.name,
            "weight": weight,
            "baseline": baseline,
            "target": target,
            "latest": latest,
        }
        row["latest_on"] = k.latest_on.isoformat() if k.latest_on else None
        if (
            baseline is None
            or target is None
            or target == baseline
            or k.start is None
            or k.target_date is None
        ):
            what = (
                "baseline"
                if baseline is None
                else "target"
                if target is None or target == baseline
                else "start date"
                if k.start is None
                else "target date"
            )
            missing.append(f"{what} of {k.name}")
            row.update(counted=True, attainment=0.0, expected=None, reason=f"missing: {what}")
            parts.append(f"{k.name}: missing {what} → 0%")
            num.append(0.0)
            den.append(weight)
            rows.append(row)
            continue
        if k.latest_on is None:
            latest = None  # an observation without its date cannot be placed on the path
        judged_on = k.latest_on if latest is not None else as_of
        expected = expected_value(baseline, target, k.start, k.target_date, judged_on)
        row["expected"] = expected
        row["judged_on"] = judged_on.isoformat()
        if expected == baseline:
            row.update(counted=False, attainment=None, reason="not yet due")
            parts.append(f"{k.name}: expected still the baseline on {judged_on.isoformat()}, not yet counted")
            rows.append(row)
            continue
        if latest is None:
            missing.append(f"observation of {k.name}")
            a = 0.0
            parts.append(f"{k.name}: no observation while {_num(expected)} is expected → 0%")
            row["reason"] = "missing: observation"
        else:
            raw = (latest - baseline) / (expected - baseline)
            a = min(1.0, max(0.0, raw))
            clipped = f" (clipped from {raw:.0%})" if a != raw else ""
            parts.append(
                f"{k.name}: baseline {_num(baseline)}, expected {_num(expected)} by {judged_on.isoformat()}, "
                f"latest {_num(latest)} → {a:.0%}{clipped}"
                + (f", weight {_num(weight)}" if weight != 1 else "")
            )
        row.update(counted=True, attainment=a)
        num.append(weight * a)
        den.append(weight)
        rows.append(row)
    data = {"kpis": rows, "mean_attainment": None}
    if missing:
        data["missing"] = missing
    if not den:
        reason = "missing: KPIs" if not rows else "no KPI due yet"
        if not rows:
            data["missing"] = ["KPIs"]
        return FormulaResult(None, f"{reason}. {'; '.join(parts)}".strip(), data)
    mean = math.fsum(num) / math.fsum(den)
    data["mean_attainment"] = mean
    value = 4.0 * mean
    parts.append(f"weighted mean attainment {mean:.0%} × 4 = {_num(value)}")
    return FormulaResult(value, "; ".join(parts) + ".", data)


# -- data protection ----------------------------------------------------------------------------------------

# Sensitive personal information. First PIPL Art. 28's own list (biometrics, religious belief, specific identity,
# medical health, financial accounts, whereabouts, minors' data). Then the categories an initiative records
# (partnerships.choices.PersonalDataCategory), each sensitive by Art. 28 or by GB/T 35273-2020 Appendix B (Table
# B.2, examples of sensitive personal information), which banks and regulators apply to Art. 28's "such as":
#   biometric   — Art. 28 biometrics; B.2 个人生物识别信息
#   financial   — Art. 28 financial accounts; B.2 个人财产信息 (bank accounts, deposits, payment records)
#   credit      — B.2 个人财产信息 (信贷记录、征信信息)
#   transaction — B.2 个人财产信息 (交易和消费记录、流水记录)
#   location    — Art. 28 whereabouts; B.2 行踪轨迹、精准定位信息
#   identity    — B.2 个人身份信息 (身份证、军官证、护照、驾驶证、社保卡 …), the identity documents a bank records
#   behaviour   — B.2 网页浏览记录 (browsing records), the core of online behaviour data
# Not sensitive: ``contact`` (phone number, e-mail, address — Table B.1's 个人基本资料); the source says so
# explicitly (sensitive=False). Any other key must have its sensitivity recorded (None → "missing").
SENSITIVE_CATEGORIES = frozenset(
    {
        "biometrics",
        "religion",
        "specific_identity",
        "health",
        "financial_accounts",
        "whereabouts",
        "minors",
        "biometric",
        "financial",
        "credit",
        "transaction",
        "location",
        "identity",
        "behaviour",
    }
)
CROSS_BORDER_MECHANISMS = frozenset({"cac_security_assessment", "standard_contract", "certification"})
ART_13_BASES = frozenset(
    {
        "consent",
        "separate_consent",
        "contract",
        "legal_duty",
        "public_health",
        "news",
        "public_info",
        "other_law",
    }
)
IMPACT_ASSESSMENT_VALID_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class DataCategory:
    key: str
    basis: str = ""  # an Art. 13 basis, "" when not recorded
    separate_consent: bool = False
    # Whether PIPL Art. 28 calls it sensitive: always so for SENSITIVE_CATEGORIES; for any other category it
    # must be recorded (None → "missing: sensitivity of <key>").
    sensitive: bool | None = None


@dataclass(frozen=True, slots=True)
class PersonalDataFacts:
    """What an initiative records about personal data. ``None`` is "not recorded"; every None that the rules
    need makes the result unrated, naming it (``missing: <field>``)."""

    no_personal_data: bool = False  # an explicit, recorded "no personal data is shared"
    categories: Sequence[DataCategory] | None = None
    provided_to_partner: bool | None = None
    provision_separate_consent: bool = False
    cross_border: bool | None = None
    cross_border_destination: str = ""
    cross_border_mechanism: str = ""
    cross_border_separate_consent: bool = False
    credit_use: bool | None = None  # credit-related data used for credit decisions
    credit_route_agency: str = ""  # the licensed credit-reporting agency it passes through, "" when none
    impact_assessment_on: datetime.date | None = None
    processing_agreement: bool = False  # purpose, retention, deletion and audit covered
    extra: dict = field(default_factory=dict)


def data_protection_v2(facts: PersonalDataFacts, *, as_of: datetime.date) -> FormulaResult:
    """Data-protection readiness (个人信息保护), version 2, 0–4.

    0 when any of: a sensitive category (PIPL Art. 28) without separate consent (Art. 29); personal information
    provided to the partner without separate consent (Art. 23); a cross-border transfer without a mechanism —
    CAC security assessment, standard contract or certification (Art. 38) — or without separate consent
    (Art. 39); credit-related data used for credit decisions that reaches the bank other than through a licensed
    credit-reporting agency (断直连); a category with no lawful basis (Art. 13). Otherwise 2; + an impact
    assessment (Art. 55) dated within three years of ``as_of`` → 3; + a data-processing agreement → 4. An
    explicit "no personal data shared" → 4. Categories not recorded, or a fact the rules need not recorded →
    ``None`` (unrated), naming what is missing.
    """
    data: dict = {
        "no_personal_data": facts.no_personal_data,
        "categories": None
        if facts.categories is None
        else [
            {
                "key": c.key,
                "basis": c.basis,
                "separate_consent": c.separate_consent,
                "sensitive": True if c.key in SENSITIVE_CATEGORIES else c.sensitive,
            }
            for c in facts.categories
        ],
        "provided_to_partner": facts.provided_to_partner,
        "cross_border": facts.cross_border,
        "cross_border_destination": facts.cross_border_destination,
        "cross_border_mechanism": facts.cross_border_mechanism,
        "cross_border_separate_consent": facts.cross_border_separate_consent,
        "credit_use": facts.credit_use,
        "credit_route_agency": facts.credit_route_agency,
        "impact_assessment_on": facts.impact_assessment_on.isoformat()
        if facts.impact_assessment_on
        else None,
        "processing_agreement": facts.processing_agreement,
        "breaches": [],
    }
    if facts.no_personal_data and not facts.categories:
        return FormulaResult(4.0, "No personal data shared (recorded) → 4.", data)
    missing = []
    if not facts.categories:
        missing.append("personal_data_categories")
    for name in ("provided_to_partner", "cross_border", "credit_use"):
        if getattr(facts, name) is None:
            missing.append(name)
    missing += [f"sensitivity of {c['key']}" for c in data["categories"] or () if c["sensitive"] is None]
    if facts.cross_border and not facts.cross_border_destination.strip():
        missing.append("cross_border_destination")
    if missing:
        data["missing"] = missing
        return FormulaResult(None, "missing: " + ", ".join(missing) + ".", data)
    breaches: list[dict] = []
    for c in data["categories"]:
        if not c["basis"] or c["basis"] not in ART_13_BASES:
            breaches.append({"rule": "PIPL Art. 13", "what": f"no lawful basis for {c['key']}"})
        if c["sensitive"] and not c["separate_consent"]:
            breaches.append(
                {"rule": "PIPL Art. 28–29", "what": f"sensitive {c['key']} without separate consent"}
            )
    if facts.provided_to_partner and not facts.provision_separate_consent:
        breaches.append({"rule": "PIPL Art. 23", "what": "provided to the partner without separate consent"})
    if facts.cross_border:
        if facts.cross_border_mechanism not in CROSS_BORDER_MECHANISMS:
            breaches.append({"rule": "PIPL Art. 38", "what": "cross-border transfer without a mechanism"})
        if not facts.cross_border_separate_consent:
            breaches.append(
                {"rule": "PIPL Art. 39", "what": "cross-border transfer without separate consent"}
            )
    if facts.credit_use and not facts.credit_route_agency.strip():
        breaches.append(
            {
                "rule": "断直连",
                "what": "credit-related data reaches the bank without a licensed credit-reporting agency",
            }
        )
    data["breaches"] = breaches
    if breaches:
        return FormulaResult(0.0, "; ".join(f"{b['rule']}: {b['what']}" for b in breaches) + " → 0.", data)
    steps = ["every category has its lawful basis → 2"]
    value = 2.0
    dated = facts.impact_assessment_on
    if dated is not None and 0 <= (as_of - dated).days <= IMPACT_ASSESSMENT_VALID_DAYS:
        value = 3.0
        steps.append(f"impact assessment (PIPL Art. 55) of {dated.isoformat()} → 3")
        if facts.processing_agreement:
            value = 4.0
            steps.append("data-processing agreement with the partner → 4")
    elif dated is not None:
        steps.append(f"impact assessment of {dated.isoformat()} older than three years → stays 2")
    else:
        steps.append("no impact assessment (PIPL Art. 55) → stays 2")
    return FormulaResult(value, "; ".join(steps) + ".", data)
