"""The demo's exposure register: each demo bank's lending profile, its figures per period and its joint-lending
exposures per partner and month, read from ``fixtures/demo.yaml`` and written through the exposure services.

Part of ``partnerships.services.seed``: the file is validated in full first (a problem names the file, the entry and
the field), then written in the seed's one transaction as the system. Rows are upserted by natural key — (bank,
period end) for figures, (bank, partner, month end, product) for exposures — and written only when a value differs,
so loading the same file again changes nothing.

In the file, a bank entry may carry ``bank_type``, ``home_region`` and ``limit_warning_percent``; ``bank_figures``
lists ``{bank, period_end, tier1_net_capital, total_loans, source}``; ``exposures`` lists one entry per bank, partner
and product with its ``months``: ``{period_end, balance, partner_funded_balance, lowest_partner_share_percent,
customers, new_loans, out_of_region_balance}`` (money in 万元; a figure left out is "not known").
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from ..choices import LendingProduct
from ..models import Bank, BankPeriodFigures, PartnerExposure
from .exposure import (
    PROFILE_FIELDS,
    bank_figures_create,
    bank_figures_update,
    bank_profile_update,
    exposure_create,
    exposure_update,
)

_FIGURES_FIELDS = {"bank", "period_end", "tier1_net_capital", "total_loans", "source"}
_SERIES_FIELDS = {"bank", "partner", "product", "source", "months"}
_MONTH_FIELDS = {
    "period_end",
    "balance",
    "partner_funded_balance",
    "lowest_partner_share_percent",
    "customers",
    "new_loans",
    "out_of_region_balance",
}
_MONTH_MONEY = (
    "balance",
    "partner_funded_balance",
    "lowest_partner_share_percent",
    "new_loans",
    "out_of_region_balance",
)


def parse_bank_profile(checker, entry: str, raw: dict) -> dict[str, Any]:
    """The profile fields a demo bank states (those left out stay as they are)."""
    profile: dict[str, Any] = {}
    for name in ("bank_type", "home_region"):
        if name in raw:
            profile[name] = checker.text(entry, raw, name, required=False)
    if "limit_warning_percent" in raw:
        profile["limit_warning_percent"] = checker.number(entry, raw, "limit_warning_percent")
    return profile


def parse_register(checker, data: dict, *, bank_codes: set[str], partners: set[str]) -> dict[str, list]:
    """``bank_figures`` and ``exposures`` of a demo file, checked for shape; the services check the rules."""
    figures: list[dict] = []
    for index, raw in enumerate(checker.items("header", "bank_figures", data.get("bank_figures"))):
        entry = f"bank_figures[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        entry = f"bank_figures[{index}] ({raw.get('bank')}/{raw.get('period_end')})"
        checker.unknown_keys(entry, raw, _FIGURES_FIELDS)
        bank = checker.text(entry, raw, "bank")
        if bank and bank not in bank_codes:
            checker.error(entry, "bank", _("unknown bank code %(code)r") % {"code": bank})
        values = {
            "tier1_net_capital": checker.number(entry, raw, "tier1_net_capital", required=False),
            "total_loans": checker.number(entry, raw, "total_loans", required=False),
            "source": checker.text(entry, raw, "source", required=False),
        }
        figures.append(
            {
                "entry": entry,
                "bank": bank,
                "period_end": checker.date(entry, raw, "period_end"),
                "values": values,
            }
        )
    exposures: list[dict] = []
    for index, raw in enumerate(checker.items("header", "exposures", data.get("exposures"))):
        entry = f"exposures[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        entry = f"exposures[{index}] ({raw.get('bank')}/{raw.get('partner')})"
        checker.unknown_keys(entry, raw, _SERIES_FIELDS)
        bank = checker.text(entry, raw, "bank")
        partner = checker.text(entry, raw, "partner")
        product = checker.text(entry, raw, "product", required=False) or LendingProduct.JOINT_LENDING
        source = checker.text(entry, raw, "source", required=False)
        if bank and bank not in bank_codes:
            checker.error(entry, "bank", _("unknown bank code %(code)r") % {"code": bank})
        if partner and partner not in partners:
            checker.error(entry, "partner", _("unknown partner key %(key)r") % {"key": partner})
        for m_index, m_raw in enumerate(checker.items(entry, "months", raw.get("months"), required=True)):
            m_entry = f"{entry} months[{m_index}]"
            if checker.mapping(m_entry, "-", m_raw) is None:
                continue
            checker.unknown_keys(m_entry, m_raw, _MONTH_FIELDS)
            values: dict[str, Any] = {"source": source}
            for name in _MONTH_MONEY:
                values[name] = checker.number(m_entry, m_raw, name, required=name == "balance")
            customers = checker.number(m_entry, m_raw, "customers", required=False)
            values["customers"] = int(customers) if customers is not None else None
            exposures.append(
                {
                    "entry": m_entry,
                    "bank": bank,
                    "partner": partner,
                    "product": product,
                    "period_end": checker.date(m_entry, m_raw, "period_end"),
                    "values": values,
                }
            )
    return {"figures": figures, "exposures": exposures}


def _differs(obj, values: dict) -> dict:
    return {name: value for name, value in values.items() if getattr(obj, name) != value}


def write_bank_profile(door, bank: Bank, profile: dict[str, Any]) -> bool:
    """The bank's profile through ``bank_profile_update``, when the file says something it does not have yet."""
    changed = _differs(bank, {k: v for k, v in profile.items() if k in PROFILE_FIELDS})
    if changed:
        door(bank_profile_update, user=None, bank=bank, data=changed)
        bank.refresh_from_db(fields=list(PROFILE_FIELDS))
    return bool(changed)


def write_register(register: dict[str, list], banks: dict[str, Bank], *, door_for, record) -> None:
    """Upsert the demo's bank figures and exposures through their services (``door_for(entry)`` wraps a call so
    that a refusal names the file and entry); ``record(model, outcome)`` counts each row."""
    if not register:
        return
    ids = [b.pk for b in banks.values()]
    figures = {(f.bank_id, f.period_end): f for f in BankPeriodFigures.objects.filter(bank__in=ids)}
    for item in register["figures"]:
        bank = banks[item["bank"]]
        found = figures.get((bank.pk, item["period_end"]))
        door = door_for(item["entry"])
        if found is None:
            data = {"bank": bank.pk, "period_end": item["period_end"], **item["values"]}
            figures[(bank.pk, item["period_end"])] = door(bank_figures_create, user=None, data=data)
            record(BankPeriodFigures, "created")
        elif changed := _differs(found, item["values"]):
            door(bank_figures_update, user=None, figures=found, data=changed)
            record(BankPeriodFigures, "updated")
        else:
            record(BankPeriodFigures, "unchanged")
    exposures = {
        (e.bank_id, e.partner.key, e.period_end, e.product): e
        for e in PartnerExposure.objects.filter(bank__in=ids).select_related("partner")
    }
    for item in register["exposures"]:
        bank = banks[item["bank"]]
        natural = (bank.pk, item["partner"], item["period_end"], item["product"])
        found = exposures.get(natural)
        door = door_for(item["entry"])
        if found is None:
            data = {
                "bank": bank.pk,
                "partner": item["partner"],
                "period_end": item["period_end"],
                "product": item["product"],
                **item["values"],
            }
            exposures[natural] = door(exposure_create, user=None, data=data)
            record(PartnerExposure, "created")
        elif changed := _differs(found, item["values"]):
            door(exposure_update, user=None, exposure=found, data=changed)
            record(PartnerExposure, "updated")
        else:
            record(PartnerExposure, "unchanged")
