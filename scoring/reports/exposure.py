"""The report's exposure section: money lent with partners, its concentration, and the joint-lending limits.

Built from ``PartnerExposure`` and the limit check (``partnerships.services.limits.limit_utilisation``) in a fixed
number of queries whatever the number of partners and months: one for the latest month, one grouped query for
twelve months of balances per partner, the limit check's four for the month and four more for the peaks of the
eleven earlier months (``limit_trend``) — ten in all for one bank.

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

from django.db.models import Max, Q, Sum

from partnerships.choices import LendingProduct, LimitStatus
from partnerships.models import PartnerExposure

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
    joint = Q(product=LendingProduct.JOINT_LENDING)
    rows = list(
        exposures.filter(period_end__gte=months[0])
        .order_by()
        .values(
            "period_end",
            "partner_id",
            "partner__key",
            "partner__name_zh_hans",
            "partner__name_en",
            "partner__related_party_group",
        )
        .annotate(
            sum_balance=Sum("balance"),
            joint_balance=Sum("balance", filter=joint),
            funded=Sum("partner_funded_balance", filter=joint),
        )
    )
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
        **_limits(bank_id=bank_id, months=months, limit=limit),
    }


def _limits(*, bank_id: int | None, months: list[datetime.date], limit: int) -> dict:
    """The limit check's rows for the latest month (worst first) and the highest utilisation per kind per month.

    The rows are ``partnerships.services.limits.limit_utilisation`` for the report's month (four queries); the
    earlier months of the trend are ``limit_trend`` (the same check's peak per kind, four queries for all eleven
    months). For a report on every bank the rows of every bank are listed, each with its bank's code."""
    from partnerships.models import Bank
    from partnerships.services.limits import limit_trend, limit_utilisation

    if bank_id is None:
        bank_ids = list(
            PartnerExposure.objects.filter(period_end__in=months)
            .order_by()
            .values_list("bank_id", flat=True)
            .distinct()
        )
    else:
        bank_ids = [bank_id]
    codes = dict(Bank.objects.filter(pk__in=bank_ids).values_list("pk", "code")) if bank_id is None else {}
    kinds: list[str] = []
    trend: dict[str, list[float | None]] = {}
    items: list[dict] = []

    def peak(kind: str, i: int, value) -> None:
        if kind not in trend:
            kinds.append(kind)
            trend[kind] = [None] * len(months)
        if value is not None:
            trend[kind][i] = max(trend[kind][i] or 0.0, float(value))

    earlier = limit_trend(bank_ids, months=months[:-1]) if len(months) > 1 else {}
    for i, month in enumerate(months[:-1]):
        for kind, value in earlier.get(month, {}).items():
            peak(kind, i, value)
    last = months[-1]
    # as_of only bounds the search for a month; period fixes it (a month without exposure has no rows).
    checked = limit_utilisation(bank_ids, as_of=last, period=last)
    for bank, result in sorted(checked.items()):
        if result.month_end != last:
            continue
        for row in result.rows:
            peak(row.rule.kind, len(months) - 1, row.utilisation_percent)
            items.append({**row.as_dict(), "bank": codes.get(bank, "")})
    counts = {status: 0 for status in STATUS_ORDER}
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1

    def urgency(item: dict):
        utilisation = item["utilisation_percent"]
        return (
            STATUS_ORDER.get(item["status"], 9),
            -(Decimal(utilisation) if utilisation is not None else Decimal(0)),
            item["bank"],
            item["rule"],
            item["subject"],
        )

    items.sort(key=urgency)
    return {
        "limits": {
            "counts": {str(k): v for k, v in counts.items()},
            "count": len(items),
            "listed": min(len(items), limit),
            "items": items[:limit],
        },
        "limit_trend": {
            "months": [m.isoformat() for m in months],
            "series": [{"kind": kind, "values": trend[kind]} for kind in kinds],
        },
    }
