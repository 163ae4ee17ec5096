"""Builders for the joint-lending limit tests: banks with a lending profile, their figures and their exposures,
written with the ORM (the exposure register's services belong to another part of the code)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from partnerships.models import BankPeriodFigures, PartnerExposure
from partnerships.services.limit_register import limits_load
from tests.factories import BankFactory, TechPartnerFactory

MONTH = datetime.date(2025, 6, 30)
QUARTER = datetime.date(2025, 3, 31)
AS_OF = datetime.date(2025, 7, 15)


def load_regulatory_limits():
    return limits_load()


def lending_bank(code=None, *, bank_type="city_commercial", home_region="33", warning=80, **extra):
    kwargs = {"bank_type": bank_type, "home_region": home_region, "limit_warning_percent": warning, **extra}
    if code:
        kwargs["code"] = code
    return BankFactory(**kwargs)


def bank_figures(bank, *, period_end=QUARTER, capital="1000", loans="10000"):
    return BankPeriodFigures.objects.create(
        bank=bank,
        period_end=period_end,
        tier1_net_capital=None if capital is None else Decimal(capital),
        total_loans=None if loans is None else Decimal(loans),
        source="test",
    )


def partner(key, *, group=""):
    p = TechPartnerFactory(key=key, name_zh_hans=f"{key}科技", name_en=f"{key.title()} Tech")
    if group != p.related_party_group:
        p.related_party_group = group
        p.save(update_fields=["related_party_group"])
    return p


def expose(
    bank,
    who,
    *,
    month=MONTH,
    balance="100",
    funded="40",
    low="40",
    outside="0",
    product="joint_lending",
):
    return PartnerExposure.objects.create(
        bank=bank,
        partner=who,
        period_end=month,
        product=product,
        balance=Decimal(balance),
        partner_funded_balance=None if funded is None else Decimal(funded),
        lowest_partner_share_percent=None if low is None else Decimal(low),
        out_of_region_balance=None if outside is None else Decimal(outside),
        source="test",
    )
