"""Joint-lending limits checked against a bank's month: pure maths over plain data — no Django, no I/O.

``check_limits`` takes a bank's profile (type, home region, early-warning level), the limit rules it may be subject
to, the month's exposures (one per partner and product) and the bank's recorded figures, and returns one
``LimitRow`` per (rule, subject): the value, the threshold, the utilisation, a status and the figures used. The
service ``partnerships.services.limits`` reads those inputs from the database in a fixed number of queries.

Statuses (``partnerships.choices.LimitStatus``)
-----------------------------------------------
* ``breach`` — the figure is over a maximum (or under a minimum). Exactly at the threshold is allowed: "≤ 25 %"
  and "≥ 30 %" include the threshold, so 25 % of capital is not a breach and 25.0001 % is.
* ``warning`` — not a breach, and the utilisation has reached the early-warning level (the rule's
  ``warning_percent`` or, when blank, the bank's ``limit_warning_percent``). A figure exactly at its threshold
  has a utilisation of 100 %, so it is a warning at any level.
* ``within`` — known, and below the warning level.
* ``unknown`` — a figure the limit needs is missing; ``missing`` names it. Unknown is never within: blanking any
  figure can turn within into warning or unknown, never a breach or a warning into within.

Utilisation is how much of the limit is used: value / threshold for a maximum, threshold / value for a minimum (a
partner funding 37.5 % of each loan uses 80 % of the 30 % minimum). It is None where the ratio is undefined (a
threshold of 0 with something over it, a share of 0 against a minimum): such a figure is a breach.

What each kind measures (money in 万元; "own part" is the bank's part of a joint loan, ``balance`` less
``partner_funded_balance`` — 本行贷款余额 / 本行出资部分)
------------------------------------------------------------------------------------------------------------------
* ``partner_funded_share`` (minimum), per partner: the lowest share the partner funds of any single loan
  (``lowest_partner_share_percent``). When that is not recorded for every row, only the aggregate
  (Σ partner-funded / Σ balance) is known: an aggregate *below* the threshold is a known breach (a balance-weighted
  mean below 30 % means at least one loan is below 30 %), and an aggregate at or above it proves nothing about
  each loan, so the limit is unknown. A recorded lowest share below the threshold is a breach whatever else is
  missing.
* ``partner_capital_share`` (maximum), per related-party group — partners with the same non-blank
  ``related_party_group`` are summed; a partner without one is its own subject: the group's own part over the
  bank's tier-1 net capital.
* ``total_loans_share`` (maximum), for the bank: the own part with every partner over the bank's total loans.
* ``out_of_region`` (maximum, 0 for the 2021 rule: none allowed), per partner, only for the bank types a rule names
  (local banks): the balance lent outside the home region over the partner's balance. An unknown bank type makes
  such a rule unknown for every partner (it may apply); a blank home region or a blank ``out_of_region_balance``
  makes it unknown, unless the recorded part alone is already over the threshold (a breach).

When a partner-funded balance is not recorded, the own part of that row is taken as the whole balance — an upper
bound (the partner funds at least nothing). A bound that is within or a warning says so (``figures.upper_bound``);
a bound over the threshold proves nothing, so the limit is unknown, naming the missing partner-funded balances.

Rules in force on a day: for each (bank, key), the highest version whose ``valid_from`` is on or before the day
and whose ``valid_until`` (if any) is not before it (``rules_in_force``). A rule naming bank types applies to a
bank of one of them; one naming none applies to every bank.

Bank figures: each figure (tier-1 net capital, total loans) is the latest one recorded for a period ending on or
before the month end and not more than ``max_age_days`` before it (so quarterly figures serve their quarter); an
older one is reported as stale, none as missing — either way the limits that need it are unknown.

Arithmetic is exact: comparisons with the threshold and the warning level are made on ``fractions.Fraction`` of
the Decimal inputs (no rounding, so the boundaries are exact); values shown are rounded to four decimals (half up)
only at the end.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

__all__ = [
    "BANK",
    "BLOCKING",
    "BREACH",
    "GROUP",
    "MAXIMUM_KINDS",
    "MINIMUM_KINDS",
    "PARTNER",
    "UNKNOWN",
    "WARNING",
    "WITHIN",
    "BankFigures",
    "BankProfile",
    "Exposure",
    "LimitRow",
    "Rule",
    "check_limits",
    "figures_for",
    "rules_in_force",
]

# Statuses (the values of partnerships.choices.LimitStatus).
WITHIN, WARNING, BREACH, UNKNOWN = "within", "warning", "breach", "unknown"
# Statuses that fail the compliance gate of the initiatives they concern (a warning does not).
BLOCKING = frozenset({BREACH, UNKNOWN})

# Kinds (the values of partnerships.choices.LimitKind).
PARTNER_FUNDED_SHARE = "partner_funded_share"
PARTNER_CAPITAL_SHARE = "partner_capital_share"
TOTAL_LOANS_SHARE = "total_loans_share"
OUT_OF_REGION = "out_of_region"
MINIMUM_KINDS = frozenset({PARTNER_FUNDED_SHARE})
MAXIMUM_KINDS = frozenset({PARTNER_CAPITAL_SHARE, TOTAL_LOANS_SHARE, OUT_OF_REGION})
KINDS = MINIMUM_KINDS | MAXIMUM_KINDS

# Subjects of a row.
PARTNER, GROUP, BANK = "partner", "group", "bank"

# Names of the inputs a row may lack (``LimitRow.missing``), in the order they are reported.
MISSING_BANK_TYPE = "bank_type"
MISSING_HOME_REGION = "home_region"
MISSING_CAPITAL = "tier1_net_capital"
MISSING_TOTAL_LOANS = "total_loans"
MISSING_PARTNER_FUNDED = "partner_funded_balance"
MISSING_LOWEST_SHARE = "lowest_partner_share_percent"
MISSING_OUT_OF_REGION = "out_of_region_balance"

_HUNDRED = Fraction(100)
_ZERO = Fraction(0)
_FOUR = Decimal("0.0001")
_CENT = Decimal("0.01")
# Sums of money are Decimal (exact: additions of two-decimal amounts, far within 60 digits); ratios are fractions.
_EXACT = Context(prec=60)


@dataclass(frozen=True)
class Rule:
    """A limit rule as the check needs it (``partnerships.models.LimitRule``)."""

    key: str
    version: int
    kind: str
    threshold_percent: Decimal
    valid_from: datetime.date
    valid_until: datetime.date | None = None
    warning_percent: Decimal | None = None
    products: tuple[str, ...] = ()  # empty: every product
    bank_types: tuple[str, ...] = ()  # empty: every bank
    name_zh_hans: str = ""
    name_en: str = ""
    bank_id: int | None = None  # None: a regulatory limit
    id: int | None = None


@dataclass(slots=True)
class Exposure:
    """One row of ``PartnerExposure``: a partner, a product and the month's figures (万元).

    Not frozen: the report's trend builds one per partner, product and month (24,000 for 1,000 partners), and a
    frozen dataclass takes twice as long to build; nothing here changes one after it is built."""

    partner_id: int
    partner_key: str
    product: str
    balance: Decimal
    partner_funded_balance: Decimal | None = None
    lowest_partner_share_percent: Decimal | None = None
    out_of_region_balance: Decimal | None = None
    related_party_group: str = ""
    partner_name_zh_hans: str = ""
    partner_name_en: str = ""


@dataclass(frozen=True)
class BankFigures:
    """One row of ``BankPeriodFigures`` (万元); a blank figure is None."""

    period_end: datetime.date
    tier1_net_capital: Decimal | None = None
    total_loans: Decimal | None = None


@dataclass(frozen=True)
class BankProfile:
    bank_type: str = ""  # blank: not recorded
    home_region: str = ""  # blank: not recorded
    warning_percent: Decimal = Decimal(80)


@dataclass(frozen=True)
class FigureFound:
    """A bank figure as chosen for a month: its value and period, or why there is none (``missing``/``stale``)."""

    name: str
    value: Decimal | None
    period_end: datetime.date | None
    problem: str | None = None  # None, "missing" (never recorded up to the month) or "stale" (too old)

    def as_dict(self) -> dict:
        return {
            "value": _money(self.value),
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class LimitRow:
    """One limit for one subject in one month."""

    rule: Rule
    subject: str  # partner key, related-party group, or "" for the bank as a whole
    subject_kind: str  # PARTNER | GROUP | BANK
    partners: tuple[str, ...]  # keys of the partners the subject covers (all the bank's, for BANK)
    status: str
    value_percent: Decimal | None
    utilisation_percent: Decimal | None
    warning_percent: Decimal
    figures: dict = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    partner_ids: tuple[int, ...] = ()
    subject_name_zh_hans: str = ""
    subject_name_en: str = ""

    @property
    def threshold_percent(self) -> Decimal:
        return self.rule.threshold_percent

    def as_dict(self) -> dict:
        """Plain JSON values (Decimals as strings, dates as YYYY-MM-DD): for the API, breaches and score inputs."""
        rule = self.rule
        return {
            "rule": rule.key,
            "version": rule.version,
            "kind": rule.kind,
            "regulatory": rule.bank_id is None,
            "name_zh_hans": rule.name_zh_hans,
            "name_en": rule.name_en,
            "subject": self.subject,
            "subject_kind": self.subject_kind,
            "subject_name_zh_hans": self.subject_name_zh_hans,
            "subject_name_en": self.subject_name_en,
            "partners": list(self.partners),
            "status": self.status,
            "value_percent": _pct(self.value_percent),
            "threshold_percent": _pct(rule.threshold_percent),
            "utilisation_percent": _pct(self.utilisation_percent),
            "warning_percent": _pct(self.warning_percent),
            "figures": self.figures,
            "missing": list(self.missing),
        }


# --- rules and figures ---------------------------------------------------------------------------------------
def rules_in_force(rules: Iterable[Rule], on: datetime.date) -> list[Rule]:
    """For each (bank, key), the highest version in force on ``on``; ordered regulatory first, then by key."""
    best: dict[tuple[int | None, str], Rule] = {}
    for rule in rules:
        if rule.valid_from > on or (rule.valid_until is not None and rule.valid_until < on):
            continue
        slot = (rule.bank_id, rule.key)
        if slot not in best or rule.version > best[slot].version:
            best[slot] = rule
    return sorted(best.values(), key=lambda r: (r.bank_id is not None, r.bank_id or 0, r.key))


def figures_for(
    figures: Iterable[BankFigures], month_end: datetime.date, max_age_days: int
) -> dict[str, FigureFound]:
    """Each bank figure for ``month_end``: the latest recorded one with a period ending on or before it, used
    when it is at most ``max_age_days`` older (else ``stale``); ``missing`` when none was ever recorded."""
    oldest = month_end - datetime.timedelta(days=max_age_days)
    found: dict[str, FigureFound] = {}
    for name in (MISSING_CAPITAL, MISSING_TOTAL_LOANS):
        latest = None
        for row in figures:
            value = getattr(row, name)
            if value is None or row.period_end > month_end:
                continue
            if latest is None or row.period_end > latest.period_end:
                latest = row
        if latest is None:
            found[name] = FigureFound(name, None, None, "missing")
        elif latest.period_end < oldest:
            found[name] = FigureFound(name, None, latest.period_end, "stale")
        else:
            found[name] = FigureFound(name, getattr(latest, name), latest.period_end)
    return found


# --- the check ---------------------------------------------------------------------------------------------------
def check_limits(
    *,
    bank: BankProfile,
    rules: Sequence[Rule],
    exposures: Sequence[Exposure],
    figures: Iterable[BankFigures],
    month_end: datetime.date,
    max_age_days: int = 92,
) -> list[LimitRow]:
    """One row per rule in force on ``month_end`` that applies to the bank, and per subject of it.

    A rule applies when it names no bank types or the bank's type is one of them; with a type not recorded it may
    apply, so its rows are unknown (``bank_type``). Subjects come from the exposures with a balance above 0 of
    the products the rule counts; a month without such exposures gives the rule no row.
    """
    with localcontext(_EXACT):
        return _check(bank, rules, exposures, list(figures), month_end, max_age_days)


def _check(bank, rules, exposures, figures, month_end, max_age_days) -> list[LimitRow]:
    return [
        _finish(rule, warning, draft, exact)
        for rule, warning, draft, exact in _drafts(bank, rules, exposures, figures, month_end, max_age_days)
    ]


def peak_utilisation(
    *,
    bank: BankProfile,
    rules: Sequence[Rule],
    exposures: Sequence[Exposure],
    figures: Iterable[BankFigures],
    month_end: datetime.date,
    max_age_days: int = 92,
) -> dict[str, Decimal | None]:
    """{kind: the highest utilisation in percent among the rows ``check_limits`` returns for the month}, for each
    kind with a row (in the check's order); None where every row of the kind is unknown.

    The report's 12-month trend needs only the peak per kind, eleven months at a time, so this computes only the
    values of the rows a status other than unknown would keep (``_KNOWN_VALUES``, kind by kind, without the rows'
    figures, names or drafts) — the same subjects, values and cases as the builders and ``_judge``, which a
    property test holds it to (tests/partnerships/test_limit_rules.py). Rounded as ``LimitRow`` shows it (four
    decimals, half up), which keeps the order, so the peak equals the largest ``utilisation_percent``."""
    with localcontext(_EXACT):
        found = figures_for(list(figures), month_end, max_age_days)
        peaks: dict[str, Fraction | None] = {}
        grouped: dict[tuple[str, ...], dict[int, list[Exposure]]] = {}
        for rule in rules_in_force(rules, month_end):
            if rule.kind not in KINDS:
                continue
            if rule.bank_types and bank.bank_type and bank.bank_type not in rule.bank_types:
                continue
            if rule.products not in grouped:
                grouped[rule.products] = _by_partner(
                    [
                        e
                        for e in exposures
                        if (not rule.products or e.product in rule.products) and e.balance > 0
                    ]
                )
            by_partner = grouped[rule.products]
            if not by_partner:  # no subject: the rule has no row
                continue
            current = peaks.setdefault(rule.kind, None)
            if rule.bank_types and not bank.bank_type:  # the type not recorded: every row of the rule unknown
                continue
            peak = _peak(rule, _KNOWN_VALUES[rule.kind](rule, by_partner, bank, found))
            if peak is not None and (current is None or peak > current):
                peaks[rule.kind] = peak
        return {kind: None if peak is None else _decimal(peak * _HUNDRED) for kind, peak in peaks.items()}


def _funded_share_values(rule, by_partner, bank, found) -> list[Fraction]:
    """``_partner_funded_share``'s known values: every loan's share recorded, or a proven breach."""
    threshold = rule.threshold_percent
    values = []
    for rows in by_partner.values():
        lows = [e.lowest_partner_share_percent for e in rows if e.lowest_partner_share_percent is not None]
        if lows and (len(lows) == len(rows) or min(lows) < threshold):
            values.append(Fraction(min(lows)))
            continue
        if any(e.partner_funded_balance is None for e in rows):
            continue  # unknown
        aggregate = _share(
            sum((e.partner_funded_balance for e in rows), Decimal(0)),
            sum((e.balance for e in rows), Decimal(0)),
        )
        if aggregate < Fraction(threshold):  # a proven breach; otherwise unknown (the lowest share missing)
            values.append(aggregate)
    return values


def _capital_share_values(rule, by_partner, bank, found) -> list[Fraction]:
    """``_partner_capital_share``'s known values: each related-party group's (or lone partner's) own part against
    tier-1 capital, an upper bound (a partner-funded balance blank) known only while it is within."""
    capital, _shown = _capital_figure(found, MISSING_CAPITAL)
    if capital is None:
        return []
    threshold = Fraction(rule.threshold_percent)
    groups: dict[str, list[Exposure]] = {}
    for rows in by_partner.values():
        groups.setdefault(rows[0].related_party_group.strip() or rows[0].partner_key, []).extend(rows)
    values = []
    for rows in groups.values():
        value, bounded = _own_share(rows, capital)
        if not (bounded and value > threshold):
            values.append(value)
    return values


def _total_loans_values(rule, by_partner, bank, found) -> list[Fraction]:
    """``_total_loans_share``'s value when known: all the counted balances against total loans."""
    loans, _shown = _capital_figure(found, MISSING_TOTAL_LOANS)
    if loans is None:
        return []
    value, bounded = _own_share([e for rows in by_partner.values() for e in rows], loans)
    return [] if bounded and value > Fraction(rule.threshold_percent) else [value]


def _own_share(rows: Sequence[Exposure], whole: Decimal) -> tuple[Fraction, bool]:
    """(the own part of ``rows`` against ``whole`` in percent, whether a blank partner-funded balance makes it an
    upper bound) — ``_own_part`` without the figures."""
    own = Decimal(0)
    bounded = False
    for e in rows:
        if e.partner_funded_balance is None:
            own += e.balance
            bounded = True
        else:
            own += e.balance - e.partner_funded_balance
    return _share(own, whole), bounded


def _out_of_region_values(rule, by_partner, bank, found) -> list[Fraction]:
    """``_out_of_region``'s known values: complete figures with a home region, or a recorded part already over."""
    threshold = Fraction(rule.threshold_percent)
    values = []
    for rows in by_partner.values():
        outside = sum(
            (e.out_of_region_balance for e in rows if e.out_of_region_balance is not None), Decimal(0)
        )
        value = _share(outside, sum((e.balance for e in rows), Decimal(0))) if outside else _ZERO
        blank = any(e.out_of_region_balance is None for e in rows)
        if not bank.home_region or blank:
            if bank.home_region and value > threshold:  # a lower bound over the threshold: a breach
                values.append(value)
            continue  # unknown
        values.append(value)
    return values


def _peak(rule: Rule, values: list[Fraction]) -> Fraction | None:
    """The highest ``_utilisation`` of these values under the rule, found from the extreme value: utilisation
    rises with the value for a maximum and falls with it for a minimum. Undefined utilisations (None) are left out,
    as the rows show them: a value over a threshold of 0, a share of 0 against a positive minimum."""
    if not values:
        return None
    threshold = Fraction(rule.threshold_percent)
    if rule.kind in MINIMUM_KINDS:
        if threshold == 0:
            return _ZERO
        positive = [v for v in values if v > 0]
        return _utilisation(min(positive), threshold, minimum=True) if positive else None
    if threshold == 0:
        return _ZERO if any(v == 0 for v in values) else None
    return _utilisation(max(values), threshold, minimum=False)


def _drafts(bank, rules, exposures, figures, month_end, max_age_days):
    """(rule, warning level, draft, exact thresholds) for each rule in force that applies and each subject of it."""
    found = figures_for(figures, month_end, max_age_days)
    for rule in rules_in_force(rules, month_end):
        if rule.kind not in KINDS:
            continue
        counted = [
            e for e in exposures if (not rule.products or e.product in rule.products) and e.balance > 0
        ]
        if not counted:
            continue
        warning = rule.warning_percent if rule.warning_percent is not None else bank.warning_percent
        type_unknown = bool(rule.bank_types) and not bank.bank_type
        if rule.bank_types and bank.bank_type and bank.bank_type not in rule.bank_types:
            continue
        builder = _BUILDERS[rule.kind]
        # Once a rule, not once a row: the threshold in percent, the warning level as a share of the limit.
        exact = (Fraction(rule.threshold_percent), Fraction(warning) / _HUNDRED)
        for draft in builder(rule, counted, bank, found, month_end):
            if type_unknown:
                draft = _unknown(draft, (MISSING_BANK_TYPE,), bank_type=None)
            yield rule, warning, draft, exact


@dataclass
class _Draft:
    """A row before its status: the comparison as exact fractions, or what is missing."""

    subject: str
    subject_kind: str
    partners: tuple[str, ...]
    partner_ids: tuple[int, ...]
    value: Fraction | None  # the value in percent (for an upper bound: the bound)
    figures: dict
    missing: tuple[str, ...] = ()
    upper_bound: bool = (
        False  # value is an upper bound of a maximum kind (a row without partner-funded balance)
    )
    known_breach: bool = False  # a part already proves the breach (the rest unknown)
    names: tuple[str, str] = ("", "")  # the subject's name in Chinese and English


def _unknown(draft: _Draft, missing: tuple[str, ...], **figures) -> _Draft:
    draft.missing = tuple(dict.fromkeys((*missing, *draft.missing)))
    draft.known_breach = False
    draft.figures.update(figures)
    return draft


def _judge(rule: Rule, draft: _Draft, exact: tuple[Fraction, Fraction]) -> tuple[str, Fraction | None]:
    """A draft's status and utilisation (None when unknown: an unknown limit shows no value of its own)."""
    threshold, warning_level = exact
    minimum = rule.kind in MINIMUM_KINDS
    value = draft.value
    utilisation = _utilisation(value, threshold, minimum=minimum)
    if draft.known_breach:
        status = BREACH
    elif draft.missing:
        status = UNKNOWN
    else:
        over = value < threshold if minimum else value > threshold
        if over:
            status = UNKNOWN if draft.upper_bound else BREACH  # a bound over the threshold proves nothing
        elif utilisation is None or utilisation >= warning_level:
            status = WARNING
        else:
            status = WITHIN
    return status, None if status == UNKNOWN else utilisation


def _finish(rule: Rule, warning: Decimal, draft: _Draft, exact: tuple[Fraction, Fraction]) -> LimitRow:
    status, utilisation = _judge(rule, draft, exact)
    value = draft.value
    if status == UNKNOWN and not draft.missing:  # an upper bound over the threshold: what would settle it
        draft.missing = (MISSING_PARTNER_FUNDED,)
    figures = {name: _shown(name, value) for name, value in draft.figures.items()}
    if draft.upper_bound:
        figures["upper_bound"] = True
        if status == UNKNOWN:
            figures["upper_bound_percent"] = _pct(_decimal(value))
    if status == UNKNOWN:  # an unknown limit shows no value of its own: only the figures it has
        value = None
    return LimitRow(
        rule=rule,
        subject=draft.subject,
        subject_kind=draft.subject_kind,
        partners=draft.partners,
        partner_ids=draft.partner_ids,
        status=status,
        value_percent=None if value is None else _decimal(value),
        utilisation_percent=None if utilisation is None else _decimal(utilisation * _HUNDRED),
        warning_percent=Decimal(warning),
        figures=figures,
        missing=draft.missing,
        subject_name_zh_hans=draft.names[0],
        subject_name_en=draft.names[1],
    )


def _utilisation(value: Fraction | None, threshold: Fraction, *, minimum: bool) -> Fraction | None:
    if value is None:
        return None
    if minimum:
        if value == 0:
            return None if threshold > 0 else Fraction(0)
        return threshold / value
    if threshold == 0:
        return Fraction(0) if value == 0 else None
    return value / threshold


# --- subjects and values, kind by kind ---------------------------------------------------------------------------
def _partner_names(e: Exposure) -> tuple[str, str]:
    zh = e.partner_name_zh_hans or e.partner_name_en or e.partner_key
    return zh, e.partner_name_en or zh


def _by_partner(exposures: Sequence[Exposure]) -> dict[int, list[Exposure]]:
    out: dict[int, list[Exposure]] = {}
    for e in exposures:
        out.setdefault(e.partner_id, []).append(e)
    return dict(sorted(out.items(), key=lambda item: item[1][0].partner_key))


def _own_part(rows: Sequence[Exposure]) -> tuple[Decimal, list[str], dict]:
    """Σ own part (balance − partner-funded, or the whole balance where that is blank), the partners whose
    partner-funded balance is blank, and the sums shown as figures."""
    balance = sum((e.balance for e in rows), Decimal(0))
    funded = sum((e.partner_funded_balance for e in rows if e.partner_funded_balance is not None), Decimal(0))
    unfunded = list(dict.fromkeys(e.partner_key for e in rows if e.partner_funded_balance is None))
    own = balance - funded
    shown = {
        "balance": balance,
        "partner_funded_balance": funded,
        "own_balance": own,
    }
    if unfunded:
        shown["partner_funded_balance_missing"] = unfunded
    return own, unfunded, shown


def _share(part: Decimal, whole: Decimal) -> Fraction:
    """part / whole in percent, exactly."""
    # One Fraction built from the integer ratios (normalised once) rather than three (each normalised): the check
    # makes one of these per subject and month, and Fraction's arithmetic is most of its time.
    pn, pd = part.as_integer_ratio()
    wn, wd = whole.as_integer_ratio()
    return Fraction(pn * 100 * wd, pd * wn)


def _partner_funded_share(rule, exposures, bank, found, month_end) -> list[_Draft]:
    threshold = rule.threshold_percent
    drafts = []
    for partner_id, rows in _by_partner(exposures).items():
        key = rows[0].partner_key
        lows = [e.lowest_partner_share_percent for e in rows if e.lowest_partner_share_percent is not None]
        all_lows = len(lows) == len(rows)
        figures: dict = {}
        draft = _Draft(key, PARTNER, (key,), (partner_id,), None, figures, names=_partner_names(rows[0]))
        if lows:
            figures["lowest_partner_share_percent"] = min(lows)
        if all_lows:
            draft.value = Fraction(min(lows))
            figures["basis"] = "lowest_single_loan"
            drafts.append(draft)
            continue
        if lows and min(lows) < threshold:  # one loan below the minimum is a breach whatever else is unknown
            draft.value = Fraction(min(lows))
            draft.known_breach = True
            figures["basis"] = "lowest_single_loan"
            drafts.append(draft)
            continue
        balance = sum((e.balance for e in rows), Decimal(0))
        figures["balance"] = balance
        if any(e.partner_funded_balance is None for e in rows):
            drafts.append(_unknown(draft, (MISSING_LOWEST_SHARE, MISSING_PARTNER_FUNDED)))
            continue
        funded = sum((e.partner_funded_balance for e in rows), Decimal(0))
        aggregate = _share(funded, balance)
        figures.update(
            basis="aggregate",
            partner_funded_balance=funded,
            aggregate_share_percent=aggregate,
        )
        draft.value = aggregate
        if aggregate < Fraction(threshold):
            draft.known_breach = True  # a balance-weighted mean below the minimum: some loan is below it
        else:
            _unknown(draft, (MISSING_LOWEST_SHARE,))
        drafts.append(draft)
    return drafts


def _capital_figure(found: Mapping[str, FigureFound], name: str) -> tuple[Decimal | None, dict]:
    figure = found[name]
    shown = {name: figure.as_dict()}
    if figure.value is None or figure.value <= 0:
        return None, shown
    return figure.value, shown


def _partner_capital_share(rule, exposures, bank, found, month_end) -> list[_Draft]:
    capital, capital_shown = _capital_figure(found, MISSING_CAPITAL)
    groups: dict[str, list[Exposure]] = {}
    for e in sorted(exposures, key=lambda e: e.partner_key):
        groups.setdefault(e.related_party_group.strip() or e.partner_key, []).append(e)
    drafts = []
    for subject, rows in sorted(groups.items()):
        grouped = bool(rows[0].related_party_group.strip())
        keys = tuple(dict.fromkeys(e.partner_key for e in rows))
        ids = tuple(dict.fromkeys(e.partner_id for e in rows))
        own, unfunded, shown = _own_part(rows)
        figures = {**shown, **capital_shown}
        names = (subject, subject) if grouped else _partner_names(rows[0])
        draft = _Draft(subject, GROUP if grouped else PARTNER, keys, ids, None, figures, names=names)
        if capital is None:
            drafts.append(_unknown(draft, (MISSING_CAPITAL,)))
            continue
        draft.value = _share(own, capital)
        draft.upper_bound = bool(unfunded)
        drafts.append(draft)
    return drafts


def _total_loans_share(rule, exposures, bank, found, month_end) -> list[_Draft]:
    loans, loans_shown = _capital_figure(found, MISSING_TOTAL_LOANS)
    own, unfunded, shown = _own_part(exposures)
    keys = tuple(sorted(dict.fromkeys(e.partner_key for e in exposures)))
    ids = tuple(dict.fromkeys(e.partner_id for e in sorted(exposures, key=lambda e: e.partner_key)))
    draft = _Draft("", BANK, keys, ids, None, {**shown, **loans_shown})
    if loans is None:
        return [_unknown(draft, (MISSING_TOTAL_LOANS,))]
    draft.value = _share(own, loans)
    draft.upper_bound = bool(unfunded)
    return [draft]


def _out_of_region(rule, exposures, bank, found, month_end) -> list[_Draft]:
    threshold = Fraction(rule.threshold_percent)
    drafts = []
    for partner_id, rows in _by_partner(exposures).items():
        key = rows[0].partner_key
        balance = sum((e.balance for e in rows), Decimal(0))
        outside = sum(
            (e.out_of_region_balance for e in rows if e.out_of_region_balance is not None), Decimal(0)
        )
        blank = any(e.out_of_region_balance is None for e in rows)
        figures = {
            "balance": balance,
            "out_of_region_balance": None if blank and not outside else outside,
            "home_region": bank.home_region or None,
        }
        draft = _Draft(
            key,
            PARTNER,
            (key,),
            (partner_id,),
            _share(outside, balance) if outside else _ZERO,  # most partners lend in region only
            figures,
            names=_partner_names(rows[0]),
        )
        missing = []
        if not bank.home_region:
            missing.append(MISSING_HOME_REGION)
        if blank:
            missing.append(MISSING_OUT_OF_REGION)
        if missing:
            # The recorded part is a lower bound: already over the threshold, it is a breach whatever the rest.
            if bank.home_region and draft.value > threshold:
                draft.known_breach = True
                figures["lower_bound"] = True
            else:
                _unknown(draft, tuple(missing))
        drafts.append(draft)
    return drafts


# The values ``peak_utilisation`` keeps, kind by kind: those of the rows a status other than unknown would have.
_KNOWN_VALUES = {
    PARTNER_FUNDED_SHARE: _funded_share_values,
    PARTNER_CAPITAL_SHARE: _capital_share_values,
    TOTAL_LOANS_SHARE: _total_loans_values,
    OUT_OF_REGION: _out_of_region_values,
}

_BUILDERS = {
    PARTNER_FUNDED_SHARE: _partner_funded_share,
    PARTNER_CAPITAL_SHARE: _partner_capital_share,
    TOTAL_LOANS_SHARE: _total_loans_share,
    OUT_OF_REGION: _out_of_region,
}


# --- numbers as shown --------------------------------------------------------------------------------------------
def _decimal(x: Fraction) -> Decimal:
    """A fraction as a Decimal rounded half up to four decimals (only for showing: comparisons use fractions).

    The quotient is taken to 60 digits first; a tie at the fifth decimal is a terminating decimal, so it is exact
    there and rounds up as it should."""
    with localcontext(_EXACT):
        quotient = Decimal(x.numerator) / Decimal(x.denominator)
        return quotient.quantize(_FOUR, rounding=ROUND_HALF_UP)


def _shown(name: str, value):
    """A figure as a row shows it: percentages (names ending in ``_percent``) as ``_pct``, sums of money as
    ``_money``, anything else as it is. Builders keep figures as numbers and rows format them here, once — so the
    trend's peaks (which build no rows) format nothing."""
    if isinstance(value, Fraction):
        value = _decimal(value)
    if isinstance(value, Decimal):
        return _pct(value) if name.endswith("_percent") else _money(value)
    return value


def _pct(value: Decimal | None) -> str | None:
    """A percentage as a plain string without trailing zeros ("25", "30.5", "80.0001")."""
    if value is None:
        return None
    text = format(Decimal(value).quantize(_FOUR, rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(value) -> str | None:
    """A sum in 万元 as a string with two decimals (exact inputs have at most two)."""
    if value is None:
        return None
    if isinstance(value, Fraction):
        value = _decimal(value)
    return format(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP), "f")
