"""A limit row (``partnerships.limit_rules.LimitRow.as_dict``) described in the reader's language: the limit, the
subject, the value against the threshold, and the figures it rests on or the ones it lacks.

One text for every door that names a limit: the score panel (through ``scoring.describe``), the breach e-mail, the
admin's breach list. Chinese reads with full-width punctuation (the catalogue's strings carry it); percentages
keep the check's precision (up to four decimals), so a value just over a threshold never reads as equal to it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from .choices import Province
from .formatting import fmt_figure


def _english() -> bool:
    return (get_language() or "").startswith("en")


def pct(value) -> str:
    """A percentage with up to four decimals, as the check computed it (25.0001%)."""
    if value in (None, ""):
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number.quantize(Decimal("0.0001")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def money(value) -> str:
    if value in (None, ""):
        return "—"
    return fmt_figure(value) + pgettext("unit after a figure", " ×10k CNY")


def limit_name(row: dict) -> str:
    return (
        (row.get("name_en") or row.get("name_zh_hans") or row.get("rule", ""))
        if _english()
        else (row.get("name_zh_hans") or row.get("name_en") or row.get("rule", ""))
    )


def subject_label(row: dict, bank_name: str = "") -> str:
    kind = row.get("subject_kind")
    if kind == "bank":
        return bank_name or _("the bank as a whole")
    name = (row.get("subject_name_en") if _english() else row.get("subject_name_zh_hans")) or row.get(
        "subject", ""
    )
    if kind == "group":
        return _("related-party group %(group)s") % {"group": name}
    return name


def _kind(row: dict) -> str:
    """The limit's kind: ``limit_kind`` in a score's cap reason (whose ``kind`` is "joint_lending"), else ``kind``."""
    return row.get("limit_kind") or row.get("kind") or ""


def _sep() -> str:
    return "; " if _english() else "；"


def _period(row: dict) -> str:
    return (row.get("period_end") or "")[:7]


def figure_problem(name: str, figure: dict | None, max_age: int | None = None) -> str:
    """Why a bank figure is not there for the month: never recorded, or only an old one."""
    label = {
        "tier1_net_capital": _("tier-1 net capital"),
        "total_loans": _("total loans"),
    }.get(name, name)
    if figure and figure.get("problem") == "stale":
        return _("%(figure)s (the latest, for %(period)s, is too old for the month)") % {
            "figure": label,
            "period": figure.get("period_end") or "",
        }
    return _("%(figure)s (none recorded for the month)") % {"figure": label}


def missing_label(item: str, row: dict) -> str:
    figures = row.get("figures") or {}
    if item in ("tier1_net_capital", "total_loans"):
        return figure_problem(item, figures.get(item))
    if item == "partner_funded_balance":
        keys = figures.get("partner_funded_balance_missing") or []
        text = _("the partner-funded balance")
        return text + (f" ({', '.join(keys)})" if _english() else f"（{'、'.join(keys)}）") if keys else text
    return {
        "bank_type": _("the bank type (local banks may not lend outside their home region)"),
        "home_region": _("the bank's home region"),
        "lowest_partner_share_percent": _("the lowest share the partner funds of a single loan"),
        "out_of_region_balance": _("the balance lent outside the home region"),
    }.get(item, item)


def _figures(row: dict) -> str:
    f = row.get("figures") or {}
    kind = _kind(row)
    parts: list[str] = []
    if kind in ("partner_capital_share", "total_loans_share"):
        parts.append(
            _("the bank's own part %(own)s of a joint-lending balance of %(balance)s")
            % {"own": money(f.get("own_balance")), "balance": money(f.get("balance"))}
        )
        name = "tier1_net_capital" if kind == "partner_capital_share" else "total_loans"
        figure = f.get(name) or {}
        if figure.get("value") is not None:
            label = _("tier-1 net capital") if name == "tier1_net_capital" else _("total loans")
            parts.append(
                _("%(figure)s %(value)s (%(period)s)")
                % {"figure": label, "value": money(figure["value"]), "period": figure.get("period_end") or ""}
            )
        if f.get("upper_bound"):
            parts.append(
                _(
                    "no partner-funded balance recorded for %(partners)s: their whole balance counted (an upper bound)"
                )
                % {
                    "partners": (", " if _english() else "、").join(
                        f.get("partner_funded_balance_missing") or []
                    )
                }
            )
    elif kind == "partner_funded_share":
        if f.get("basis") == "lowest_single_loan":
            parts.append(
                _("lowest partner share of a single loan %(share)s")
                % {"share": pct(f.get("lowest_partner_share_percent"))}
            )
        elif f.get("basis") == "aggregate":
            parts.append(
                _("partner-funded %(funded)s of %(balance)s, %(share)s on aggregate")
                % {
                    "funded": money(f.get("partner_funded_balance")),
                    "balance": money(f.get("balance")),
                    "share": pct(f.get("aggregate_share_percent")),
                }
            )
    elif kind == "out_of_region":
        if f.get("home_region") and f.get("out_of_region_balance") is not None:
            region = dict(Province.choices).get(f["home_region"], f["home_region"])
            parts.append(
                _("%(outside)s of %(balance)s lent outside %(region)s")
                % {
                    "outside": money(f.get("out_of_region_balance")),
                    "balance": money(f.get("balance")),
                    "region": region,
                }
            )
    return _sep().join(parts)


def status_text(row: dict) -> str:
    """The value against the threshold: breached, approaching, within, or unknown with what is missing."""
    status = row.get("status")
    minimum = _kind(row) == "partner_funded_share"
    values = {
        "value": pct(row.get("value_percent")),
        "threshold": pct(row.get("threshold_percent")),
        "utilisation": pct(row.get("utilisation_percent")),
        "warning": pct(row.get("warning_percent")),
        "period": _period(row),
    }
    if status == "breach":
        if minimum:
            return _("%(value)s, under the minimum of %(threshold)s (%(period)s)") % values
        return _("%(value)s, over the maximum of %(threshold)s (%(period)s)") % values
    if status == "warning":
        return (
            _(
                "%(value)s, %(utilisation)s of the limit of %(threshold)s, at or above the early-warning level of "
                "%(warning)s (%(period)s)"
            )
            % values
        )
    if status == "unknown":
        missing = (", " if _english() else "、").join(missing_label(m, row) for m in row.get("missing") or [])
        return _("unknown for %(period)s; missing: %(missing)s") % {**values, "missing": missing}
    return _("%(value)s, within the limit of %(threshold)s (%(period)s)") % values


def describe_limit(row: dict, *, bank_name: str = "") -> str:
    """“limit — subject: value against threshold; figures”, in the active language."""
    head = _("%(limit)s — %(subject)s") % {"limit": limit_name(row), "subject": subject_label(row, bank_name)}
    text = head + (": " if _english() else "：") + status_text(row)
    figures = _figures(row)
    if figures:
        text += _sep() + figures
    return text
