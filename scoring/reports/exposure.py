"""The report's exposure section: money lent with partners, its concentration, and the joint-lending limits.

Built from ``PartnerExposure`` and the limit check in a fixed number of queries whatever the number of partners
and months: one for the latest month, then ``partnerships.services.limits.limit_history``'s five — the year's
exposures and their partners (the balances and the check both read them), the banks, their figures and the rules —
six in all. The latest month gets the full check (its rows); the eleven before it the peak per kind.

Payload key ``exposure`` (absent from reports built before it existed; the page and exports then leave the
section out):
    present (bool: any exposure recorded in scope up to the report's period end),
    month (YYYY-MM-DD, the latest month end with exposure on or before the period end) | null,
    months [12 month ends, oldest first],
    total_balance, joint_balance (万元, the month),
    partners {count, listed, items [{key, names, group, balance, joint_balance, partner_funded_share, share}]}
        (by balance, most first, at most ``list_limit()``),
    groups {count, items [{group, partners [keys], balance, joint_balance, share}]} (a partner without a
        related-party group is its own group, named by its key),
    hhi {balances, participations, level_balances}: HHI on the month's balances per partner beside HHI on live
        participations (the concentration section's),
    trend {months, total [balance per month], series [{group, names, values}]} for the five largest groups of the
        month, the rest summed as "others",
    limits {counts {within, warning, breach, unknown}, count, listed, items [...]} — the check's rows for the
        month, worst first (breach, unknown, warning, within; then by utilisation), at most ``list_limit()``,
    limit_trend {months, series [{kind, values [highest utilisation % of that kind in the month, or null]}]}.

Balances count both products (joint lending and facilitation): the concentration of lending through partners is
what the report shows. The limits count what their rules say (joint lending for the 2021 rules).
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Max

from partnerships.choices import LendingProduct, LimitStatus
from partnerships.models import PartnerExposure
from partnerships.services.limits import LimitHistory, limit_history

TREND_MONTHS = 12
TREND_GROUPS = 5
STATUS_ORDER = {
    LimitStatus.BREACH: 0,
    LimitStatus.UNKNOWN: 1,
    LimitStatus.WARNING: 2,
    LimitStatus.WITHIN: 3,
}
HHI_HIGH = 2500
HHI_MODERATE = 1500


def month_ends(last: datetime.date, n: int = TREND_MONTHS) -> list[datetime.date]:
    """The ``n`` month ends up to and including ``last``'s month, oldest first."""
    out = []
    year, month = last.year, last.month
    for _ in range(n):
        out.append(datetime.date(year, month, calendar.monthrange(year, month)[1]))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def hhi_of(values) -> float | None:
    """Herfindahl–Hirschman index of shares in percent (0–10,000); None when there is nothing to share."""
    values = [Decimal(v) for v in values if v]
    total = sum(values, Decimal(0))
    if not total:
        return None
    return float(sum((v * 100 / total) ** 2 for v in values))


def hhi_level(hhi: float | None) -> str:
    if hhi is None:
        return "none"
    if hhi > HHI_HIGH:
        return "high"
    if hhi > HHI_MODERATE:
        return "moderate"
    return "low"


def _money(value) -> float:
    return float(value or 0)


def _share(part, whole) -> float | None:
    return None if not whole else round(float(Decimal(part or 0) * 100 / Decimal(whole)), 2)


def exposure_section(
    *, bank_id: int | None, period_end: datetime.date, participation_hhi: float | None, limit: int
) -> dict:
    """The ``exposure`` section of a report on ``bank_id`` (None: every bank) as of ``period_end``."""
    exposures = PartnerExposure.objects.filter(period_end__lte=period_end)
    if bank_id is not None:
        exposures = exposures.filter(bank_id=bank_id)
    month = exposures.aggregate(m=Max("period_end"))["m"]
    if month is None:
        return {"present": False, "month": None}
    months = month_ends(month)
    history = limit_history(None if bank_id is None else [bank_id], months=months)
    rows = _balances(history.exposures)
    by_month: dict[datetime.date, list[dict]] = defaultdict(list)
    for row in rows:
        by_month[row["period_end"]].append(row)
    current = by_month[month]
    total = sum((r["sum_balance"] for r in current), Decimal(0))
    joint_total = sum((r["joint_balance"] or Decimal(0) for r in current), Decimal(0))

    partners = sorted(current, key=lambda r: (-r["sum_balance"], r["partner__key"]))
    partner_items = [
        {
            "key": r["partner__key"],
            "name_zh_hans": r["partner__name_zh_hans"],
            "name_en": r["partner__name_en"],
            "group": r["partner__related_party_group"],
            "balance": _money(r["sum_balance"]),
            "joint_balance": _money(r["joint_balance"]),
            "partner_funded_share": _share(r["funded"], r["joint_balance"])
            if r["funded"] is not None
            else None,
            "share": _share(r["sum_balance"], total),
        }
        for r in partners[:limit]
    ]

    def group_of(row: dict) -> str:
        return row["partner__related_party_group"] or row["partner__key"]

    groups: dict[str, dict] = {}
    for r in partners:
        g = groups.setdefault(
            group_of(r), {"group": group_of(r), "partners": [], "balance": Decimal(0), "joint": Decimal(0)}
        )
        g["partners"].append(r["partner__key"])
        g["balance"] += r["sum_balance"]
        g["joint"] += r["joint_balance"] or Decimal(0)
    group_list = sorted(groups.values(), key=lambda g: (-g["balance"], g["group"]))
    group_items = [
        {
            "group": g["group"],
            "partners": sorted(g["partners"]),
            "balance": _money(g["balance"]),
            "joint_balance": _money(g["joint"]),
            "share": _share(g["balance"], total),
        }
        for g in group_list[:limit]
    ]

    top = [g["group"] for g in group_list[:TREND_GROUPS]]
    series = {g: [0.0] * len(months) for g in top}
    others = [0.0] * len(months)
    totals = [0.0] * len(months)
    index = {m: i for i, m in enumerate(months)}
    for r in rows:
        i = index[r["period_end"]]
        totals[i] += _money(r["sum_balance"])
        if group_of(r) in series:
            series[group_of(r)][i] += _money(r["sum_balance"])
        else:
            others[i] += _money(r["sum_balance"])
    balances_hhi = hhi_of(r["sum_balance"] for r in current)

    return {
        "present": True,
        "month": month.isoformat(),
        "months": [m.isoformat() for m in months],
        "total_balance": _money(total),
        "joint_balance": _money(joint_total),
        "partners": {"count": len(partners), "listed": len(partner_items), "items": partner_items},
        "groups": {"count": len(group_list), "listed": len(group_items), "items": group_items},
        "hhi": {
            "balances": None if balances_hhi is None else round(balances_hhi, 1),
            "participations": participation_hhi,
            "level_balances": hhi_level(balances_hhi),
        },
        "trend": {
            "months": [m.isoformat() for m in months],
            "total": [round(v, 2) for v in totals],
            "series": [{"group": g, "values": [round(v, 2) for v in series[g]]} for g in top]
            + ([{"group": "", "values": [round(v, 2) for v in others]}] if any(others) else []),
        },
        **_limits(history, all_banks=bank_id is None, limit=limit),
    }


def _balances(exposures: dict) -> list[dict]:
    """The year's balances per month and partner, summed over the banks read: both products (``sum_balance``),
    joint lending alone (``joint_balance``, None without any) and its partner-funded part (``funded``, None
    without any recorded) — what a SQL ``SUM`` with a product filter gives, from the rows the limit check reads."""
    out: dict[tuple, dict] = {}
    for (_bank, period_end), month_rows in exposures.items():
        for e in month_rows:
            row = out.get((period_end, e.partner_id))
            if row is None:
                row = out[(period_end, e.partner_id)] = {
                    "period_end": period_end,
                    "partner_id": e.partner_id,
                    "partner__key": e.partner_key,
                    "partner__name_zh_hans": e.partner_name_zh_hans,
                    "partner__name_en": e.partner_name_en,
                    "partner__related_party_group": e.related_party_group,
                    "sum_balance": Decimal(0),
                    "joint_balance": None,
                    "funded": None,
                }
            row["sum_balance"] += e.balance
            if e.product == LendingProduct.JOINT_LENDING:
                row["joint_balance"] = (row["joint_balance"] or Decimal(0)) + e.balance
                if e.partner_funded_balance is not None:
                    row["funded"] = (row["funded"] or Decimal(0)) + e.partner_funded_balance
    return list(out.values())


def _limits(history: LimitHistory, *, all_banks: bool, limit: int) -> dict:
    """The limit check's rows for the latest month (worst first) and the highest utilisation per kind per month,
    from ``partnerships.services.limits.limit_history`` (the year read once). For a report on every bank the rows
    of every bank are listed, each with its bank's code."""
    months = history.months
    kinds: list[str] = []
    trend: dict[str, list[float | None]] = {}
    checked: list[tuple[str, object]] = []  # (bank code, LimitRow)

    def peak(kind: str, i: int, value) -> None:
        if kind not in trend:
            kinds.append(kind)
            trend[kind] = [None] * len(months)
        if value is not None:
            trend[kind][i] = max(trend[kind][i] or 0.0, float(value))

    for i, month in enumerate(months[:-1]):
        for kind, value in history.trend.get(month, {}).items():
            peak(kind, i, value)
    for bank, result in sorted(history.current.items()):
        code = history.codes.get(bank, "") if all_banks else ""
        for row in result.rows:
            peak(row.rule.kind, len(months) - 1, row.utilisation_percent)
            checked.append((code, row))
    counts = {status: 0 for status in STATUS_ORDER}
    for _code, row in checked:
        counts[row.status] = counts.get(row.status, 0) + 1

    def urgency(pair):
        code, row = pair
        utilisation = row.utilisation_percent  # four decimals, as the item shows it
        return (
            STATUS_ORDER.get(row.status, 9),
            -(utilisation if utilisation is not None else Decimal(0)),
            code,
            row.rule.key,
            row.subject,
        )

    # Sorted as rows, and only the listed ones made into dicts: 2,500 rows of 1,000 partners, 1,000 listed.
    checked.sort(key=urgency)
    items = [{**row.as_dict(), "bank": code} for code, row in checked[:limit]]
    return {
        "limits": {
            "counts": {str(k): v for k, v in counts.items()},
            "count": len(checked),
            "listed": len(items),
            "items": items[:limit],
        },
        "limit_trend": {
            "months": [m.isoformat() for m in months],
            "series": [{"kind": kind, "values": trend[kind]} for kind in kinds],
        },
    }
