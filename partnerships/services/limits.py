"""Reading the joint-lending limits of banks: utilisation per limit and subject, and what it means for initiatives.

``limit_utilisation`` reads, for many banks at once, each bank's month — the latest month with exposure on or
before ``as_of``, or the month asked for — its exposures, its figures and the limits that may apply, and runs the
pure check (``partnerships.limit_rules.check_limits``). Four queries whatever the number of banks and partners
(one when no bank has exposure up to then): the banks with their month, the month's exposures, the banks'
figures and the limit rules.

``joint_lending_breaches`` turns the rows into reasons for initiatives: a limit breached or unknown for a partner
(or its related-party group) concerns every initiative of that bank with that partner; the bank-wide limit (all
joint lending against total loans) every initiative of the bank with a partner it lends jointly with in the month.
It is what caps compliance readiness (``scoring.services.caps``); a limit approaching its threshold comes back as a
warning, which caps nothing.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery

from .. import limit_rules
from ..choices import LendingProduct
from ..limit_rules import BANK, BLOCKING, WITHIN, BankFigures, BankProfile, Exposure, LimitRow, Rule
from ..models import Bank, BankPeriodFigures, InitiativePartner, LimitRule, PartnerExposure, TechPartner


def max_age_days() -> int:
    """How old bank figures may be for a month (days before its end): LIMIT_FIGURES_MAX_AGE_DAYS, default 92."""
    return int(getattr(settings, "LIMIT_FIGURES_MAX_AGE_DAYS", 92))


def month_end(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


@dataclass
class BankLimits:
    """One bank's limits for one month: the check's rows, the figures chosen, and the partners it lends jointly
    with that month (what the bank-wide limit concerns)."""

    bank_id: int
    month_end: datetime.date | None
    rows: list[LimitRow] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    joint_partner_ids: frozenset[int] = frozenset()

    def row_dicts(self) -> list[dict]:
        month = self.month_end.isoformat() if self.month_end else None
        return [{**row.as_dict(), "period_end": month} for row in self.rows]


def _rules(bank_ids: list[int]) -> list[Rule]:
    rows = LimitRule.objects.filter(Q(bank__isnull=True) | Q(bank_id__in=bank_ids)).values_list(
        "id",
        "bank_id",
        "key",
        "version",
        "kind",
        "threshold_percent",
        "warning_percent",
        "products",
        "bank_types",
        "name_zh_hans",
        "name_en",
        "valid_from",
        "valid_until",
    )
    return [
        Rule(
            id=pk,
            bank_id=bank_id,
            key=key,
            version=version,
            kind=kind,
            threshold_percent=threshold,
            warning_percent=warning,
            products=tuple(products or ()),
            bank_types=tuple(bank_types or ()),
            name_zh_hans=name_zh,
            name_en=name_en,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        for (
            pk,
            bank_id,
            key,
            version,
            kind,
            threshold,
            warning,
            products,
            bank_types,
            name_zh,
            name_en,
            valid_from,
            valid_until,
        ) in rows
    ]


def limit_utilisation(
    bank_ids: Iterable[int],
    *,
    as_of: datetime.date,
    partner: str | None = None,
    group: str | None = None,
    period: datetime.date | None = None,
    banks_read: dict[int, dict] | None = None,
) -> dict[int, BankLimits]:
    """{bank id: BankLimits} for each bank that exists among ``bank_ids`` (tenancy is the caller's).

    The month is ``period``'s (any day of it) when given, else each bank's latest month with exposure on or before
    ``as_of``; a bank without one has no month and no rows. ``partner`` (a partner key) keeps the rows whose subject
    is that partner or its related-party group; ``group`` the rows of that group and of its partners. Either
    leaves out the bank-wide row. Four queries, whatever the number of banks and partners.

    ``banks_read``: ``{bank id: row}`` of ``bank_limits_annotations`` for ``as_of``, when the caller read the banks'
    rows with its own (the one-initiative score job, with its locked read): one query less when it holds every
    bank of ``bank_ids`` and no ``period`` is given.
    """
    ids = sorted({int(i) for i in bank_ids})
    if not ids:
        return {}
    wanted = month_end(period) if period is not None else None
    latest = (
        PartnerExposure.objects.filter(bank_id=OuterRef("pk"), period_end__lte=as_of)
        .order_by("-period_end")
        .values("period_end")[:1]
    )
    if wanted is None and banks_read is not None and all(pk in banks_read for pk in ids):
        rows = [banks_read[pk] for pk in ids]
    else:
        banks = _profiles(ids)
        if wanted is None:
            banks = banks.annotate(month=Subquery(latest))
        rows = banks.values(*_PROFILE_FIELDS, *(("month",) if wanted is None else ()))
    profiles: dict[int, BankProfile] = {}
    months: dict[int, datetime.date | None] = {}
    for row in rows:
        profiles[row["pk"]] = _profile(row)
        months[row["pk"]] = wanted if wanted is not None else row["month"]
    out = {pk: BankLimits(bank_id=pk, month_end=months[pk]) for pk in profiles}
    with_month = {pk: m for pk, m in months.items() if m is not None}
    if not with_month:
        return out

    read = _exposures({pk: {m} for pk, m in with_month.items()})
    exposures = {pk: read.get((pk, m), []) for pk, m in with_month.items()}
    figures = _figures(list(with_month), up_to=max(with_month.values()))
    rules = _rules(list(with_month))

    age = max_age_days()
    for bank_id in with_month:
        _check_into(
            out[bank_id],
            profile=profiles[bank_id],
            rules=rules,
            exposures=exposures[bank_id],
            figures=figures[bank_id],
            age=age,
        )
        out[bank_id].rows = _filtered(out[bank_id].rows, exposures[bank_id], partner=partner, group=group)
    return out


def _check_into(
    result: BankLimits,
    *,
    profile: BankProfile,
    rules: list[Rule],
    exposures: list[Exposure],
    figures: list[BankFigures],
    age: int,
) -> None:
    """Run the check for ``result``'s bank and month and keep its rows, figures and joint-lending partners."""
    bank_id, month = result.bank_id, result.month_end
    result.rows = limit_rules.check_limits(
        bank=profile,
        rules=[r for r in rules if r.bank_id is None or r.bank_id == bank_id],
        exposures=exposures,
        figures=figures,
        month_end=month,
        max_age_days=age,
    )
    found = limit_rules.figures_for(figures, month, age)
    result.figures = {name: f.as_dict() for name, f in found.items()}
    result.joint_partner_ids = frozenset(
        e.partner_id for e in exposures if e.product == LendingProduct.JOINT_LENDING and e.balance > 0
    )


def _exposures_apart(
    months: list[datetime.date], bank_ids: list[int] | None
) -> dict[tuple[int, datetime.date], list[Exposure]]:
    """``_exposures`` for many months (every bank's when ``bank_ids`` is None) in two queries: the rows without
    their partner, then each partner once — a year of 1,000 partners is 24,000 rows, and reading the partner's
    key, group and names with every one of them took as long as the rest of the read."""
    # No order: the model's (bank code, month, partner key) joins both tables and sorts 24,000 rows for nothing —
    # the check orders its subjects itself.
    rows = PartnerExposure.objects.filter(period_end__in=months).order_by()
    if bank_ids is not None:
        rows = rows.filter(bank_id__in=bank_ids)
    rows = list(
        rows.values_list(
            "bank_id",
            "period_end",
            "partner_id",
            "product",
            "balance",
            "partner_funded_balance",
            "lowest_partner_share_percent",
            "out_of_region_balance",
        )
    )
    partners = {
        pk: (key, group_name or "", zh, en)
        for pk, key, group_name, zh, en in TechPartner.objects.filter(pk__in={row[2] for row in rows})
        .order_by()
        .values_list("pk", "key", "related_party_group", "name_zh_hans", "name_en")
    }
    out: dict[tuple[int, datetime.date], list[Exposure]] = defaultdict(list)
    for bank_id, period_end, partner_id, product, balance, funded, low, outside in rows:
        key, group_name, zh, en = partners[partner_id]
        out[(bank_id, period_end)].append(
            Exposure(partner_id, key, product, balance, funded, low, outside, group_name, zh, en)
        )
    return out


def _exposures(bank_months: dict[int, set[datetime.date]]) -> dict[tuple[int, datetime.date], list[Exposure]]:
    """{(bank id, month end): the month's exposures} for the months asked of each bank, in one query."""
    out: dict[tuple[int, datetime.date], list[Exposure]] = defaultdict(list)
    every_month = set().union(*bank_months.values()) if bank_months else set()
    rows = (
        PartnerExposure.objects.filter(bank_id__in=list(bank_months), period_end__in=every_month)
        .order_by()
        .values_list(
            "bank_id",
            "period_end",
            "partner_id",
            "partner__key",
            "partner__related_party_group",
            "partner__name_zh_hans",
            "partner__name_en",
            "product",
            "balance",
            "partner_funded_balance",
            "lowest_partner_share_percent",
            "out_of_region_balance",
        )
    )
    for (
        bank_id,
        period_end,
        partner_id,
        key,
        group_name,
        zh,
        en,
        product,
        balance,
        funded,
        low,
        outside,
    ) in rows:
        if period_end not in bank_months[bank_id]:
            continue
        out[(bank_id, period_end)].append(
            Exposure(
                partner_id=partner_id,
                partner_key=key,
                product=product,
                balance=balance,
                partner_funded_balance=funded,
                lowest_partner_share_percent=low,
                out_of_region_balance=outside,
                related_party_group=group_name or "",
                partner_name_zh_hans=zh,
                partner_name_en=en,
            )
        )
    return out


def _figures(bank_ids: list[int], *, up_to: datetime.date) -> dict[int, list[BankFigures]]:
    """Each bank's recorded figures for periods ending on or before ``up_to``, in one query."""
    figures: dict[int, list[BankFigures]] = defaultdict(list)
    for bank_id, period_end, capital, loans in BankPeriodFigures.objects.filter(
        bank_id__in=bank_ids, period_end__lte=up_to
    ).values_list("bank_id", "period_end", "tier1_net_capital", "total_loans"):
        figures[bank_id].append(BankFigures(period_end, capital, loans))
    return figures


def _profiles(bank_ids: list[int]):
    return Bank.objects.filter(pk__in=bank_ids).order_by("pk")


_PROFILE_FIELDS = ("pk", "bank_type", "home_region", "limit_warning_percent")


def bank_limits_annotations(bank, as_of) -> dict[str, Subquery]:
    """Annotations for a read of another table that names a bank (``bank``: an ``OuterRef`` to its id) and a
    scoring date (``as_of``: an expression): the bank's row as ``limit_utilisation`` reads it (its profile and
    latest month with exposure on or before ``as_of``), ``bank_limits_row`` turns them back into that row. The
    one-initiative score job reads them with the job (scoring.services.jobs): one statement less."""
    bank_row = Bank.objects.filter(pk=bank)
    latest = (
        PartnerExposure.objects.filter(bank_id=bank, period_end__lte=as_of)
        .order_by("-period_end")
        .values("period_end")[:1]
    )
    return {
        **{f"limits_{f}": Subquery(bank_row.values(f)[:1]) for f in _PROFILE_FIELDS},
        "limits_month": Subquery(latest),
    }


def bank_limits_row(obj) -> dict | None:
    """``{"pk", "bank_type", …, "month"}`` from an object read with ``bank_limits_annotations``; None when it has
    none (not annotated, or no such bank)."""
    if getattr(obj, "limits_pk", None) is None:
        return None
    return {**{f: getattr(obj, f"limits_{f}") for f in _PROFILE_FIELDS}, "month": obj.limits_month}


def _profile(row: dict) -> BankProfile:
    return BankProfile(
        bank_type=row["bank_type"] or "",
        home_region=row["home_region"] or "",
        warning_percent=Decimal(row["limit_warning_percent"]),
    )


def _peaks(read, wanted, banks_with, profiles, figures, rules, age) -> dict[datetime.date, dict]:
    """{month: {kind: peak over the banks}} for the months of ``wanted`` some bank has exposure in."""
    out: dict[datetime.date, dict[str, Decimal | None]] = {}
    for month in wanted:
        peaks: dict[str, Decimal | None] = {}
        for bank_id in banks_with:
            exposures = read.get((bank_id, month))
            if not exposures:
                continue
            bank_peaks = limit_rules.peak_utilisation(
                bank=profiles[bank_id],
                rules=[r for r in rules if r.bank_id is None or r.bank_id == bank_id],
                exposures=exposures,
                figures=figures[bank_id],
                month_end=month,
                max_age_days=age,
            )
            for kind, peak in bank_peaks.items():
                current = peaks.setdefault(kind, None)
                if peak is not None and (current is None or peak > current):
                    peaks[kind] = peak
        if peaks:
            out[month] = peaks
    return out


@dataclass
class LimitHistory:
    """A year of limits read once (``limit_history``): what the report's exposure section shows."""

    months: list[datetime.date]
    exposures: dict[tuple[int, datetime.date], list[Exposure]]  # (bank id, month end) → the month's exposures
    current: dict[int, BankLimits]  # the last month's check, for each bank with exposure in it
    # The earlier months' peaks: {month: {kind: the highest utilisation % over the banks' rows of that kind, None
    # where every such row is unknown}}, for the months with exposure.
    trend: dict[datetime.date, dict[str, Decimal | None]]
    codes: dict[int, str]  # bank id → code, for the banks read


def limit_history(bank_ids: Iterable[int] | None, *, months: list[datetime.date]) -> LimitHistory:
    """The exposures of ``months`` (month ends, oldest first), the full check of the last one and the peaks of the
    others, for ``bank_ids`` (None: every bank with exposure in those months; tenancy is the caller's).

    The last month's rows are those ``limit_utilisation(ids, as_of=last, period=last)`` returns; each earlier
    month's peaks are the highest ``utilisation_percent`` of the rows it would return for that month (the same pure
    check, ``limit_rules.peak_utilisation``, without building the rows). Reading month by month took four queries
    a month; this reads once: five queries (the exposures, their partners, the banks, their figures, the rules),
    whatever the banks, partners and months.
    """
    wanted = sorted({month_end(m) for m in months})
    ids = None if bank_ids is None else sorted({int(i) for i in bank_ids})
    history = LimitHistory(months=wanted, exposures={}, current={}, trend={}, codes={})
    if not wanted or ids == []:
        return history
    read = _exposures_apart(wanted, ids)
    history.exposures = read
    banks_with = sorted({pk for pk, _m in read})
    if not banks_with:
        return history
    profiles = {}
    for row in _profiles(banks_with).values(
        "pk", "code", "bank_type", "home_region", "limit_warning_percent"
    ):
        profiles[row["pk"]] = _profile(row)
        history.codes[row["pk"]] = row["code"]
    figures = _figures(banks_with, up_to=wanted[-1])
    rules = _rules(banks_with)
    age = max_age_days()
    last = wanted[-1]
    for bank_id in banks_with:
        if (bank_id, last) in read:
            result = history.current[bank_id] = BankLimits(bank_id=bank_id, month_end=last)
            _check_into(
                result,
                profile=profiles[bank_id],
                rules=rules,
                exposures=read[(bank_id, last)],
                figures=figures[bank_id],
                age=age,
            )
    history.trend = _peaks(read, wanted[:-1], banks_with, profiles, figures, rules, age)
    return history


def _filtered(rows: list[LimitRow], exposures: list[Exposure], *, partner: str | None, group: str | None):
    if not partner and not group:
        return rows
    groups = {e.partner_key: e.related_party_group for e in exposures}
    kept = []
    for row in rows:
        if row.subject_kind == BANK:
            continue
        if partner and partner not in row.partners:
            continue
        if group and not any(groups.get(key) == group for key in row.partners):
            continue
        kept.append(row)
    return kept


# --- what the limits mean for initiatives ----------------------------------------------------------------------
def joint_lending_breaches(
    initiative_ids: Iterable[int],
    *,
    as_of: datetime.date,
    links: Iterable[tuple[int, int, int]] | None = None,
    banks_read: dict[int, dict] | None = None,
) -> dict[int, list[dict]]:
    """{initiative id: [reason]} for the initiatives a limit not within concerns, on ``as_of``.

    Each reason is a limit row (``LimitRow.as_dict`` plus ``period_end``) whose ``status`` is ``breach`` or
    ``unknown`` — these cap compliance readiness at 0 — or ``warning`` (approaching; caps nothing). Initiatives no
    such limit concerns are left out. Two queries when the banks have no exposure up to ``as_of`` (the partners of
    the initiatives, then the banks' months), five otherwise.

    ``links``: the initiatives' ``(initiative id, bank id, partner id)`` partner links, when the caller read them
    already (scoring reads them once a chunk, scoring.sources.links_and_figures); one query less. ``banks_read``:
    as ``limit_utilisation`` takes it.
    """
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    if not ids:
        return {}
    if links is None:
        links = InitiativePartner.objects.filter(initiative_id__in=ids).values_list(
            "initiative_id", "initiative__bank_id", "partner_id"
        )
    partners_of: dict[int, set[int]] = defaultdict(set)
    bank_of: dict[int, int] = {}
    for initiative_id, bank_id, partner_id in links:
        partners_of[initiative_id].add(partner_id)
        bank_of[initiative_id] = bank_id
    if not bank_of:
        return {}
    limits = limit_utilisation(set(bank_of.values()), as_of=as_of, banks_read=banks_read)
    out: dict[int, list[dict]] = {}
    for initiative_id in ids:
        bank_id = bank_of.get(initiative_id)
        result = limits.get(bank_id) if bank_id is not None else None
        if result is None or not result.rows:
            continue
        mine = partners_of[initiative_id]
        month = result.month_end.isoformat()
        reasons = []
        for row in result.rows:
            if row.status == WITHIN:
                continue
            covered = result.joint_partner_ids if row.subject_kind == BANK else set(row.partner_ids)
            if mine & covered:
                reasons.append({**row.as_dict(), "period_end": month})
        if reasons:
            # Blocking reasons first (what the gate fails on), then warnings; the check's order within each.
            reasons.sort(key=lambda r: r["status"] not in BLOCKING)
            out[initiative_id] = reasons
    return out
