"""The exposure register's one write path: every rule, tried through every door that can express it, is refused in
the service's words and writes nothing.

The doors: the service itself, the admin's add page, the API (POST), the admin's CSV import and the API's CSV
import. One table per record kind (partner exposures, bank figures, the bank profile) lists each rule with the row
that breaks it, the field the refusal names and the words it says (in English); each rule runs through each door.
Then the services' own behaviour: who may write, the all-or-nothing import, history.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.errors import Forbidden, Invalid, NotFound
from partnerships.models import Bank, BankPeriodFigures, PartnerExposure
from partnerships.services.exposure import (
    bank_figures_create,
    bank_profile_update,
    exposure_create,
    exposure_delete,
    exposure_update,
    exposures_import,
)
from tests.factories import TechPartnerFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def next_month_end() -> datetime.date:
    today = timezone.localdate()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


@pytest.fixture
def register(two_banks):
    banks, users = two_banks
    partners = {
        "tencent": TechPartnerFactory(key="tencent", related_party_group="腾讯系"),
        "fintech": TechPartnerFactory(key="demo-fintech", related_party_group="演示控股集团"),
        "guarantor": TechPartnerFactory(key="demo-guarantor", related_party_group="演示控股集团"),
    }
    return banks, users, partners


GOOD = {
    "bank": "bank-a",
    "partner": "tencent",
    "period_end": "2025-06-30",
    "product": "joint_lending",
    "balance": "1000",
    "partner_funded_balance": "350",
    "lowest_partner_share_percent": "30",
    "customers": "500",
    "new_loans": "120",
    "out_of_region_balance": "0",
    "source": "测试",
}
FIGURES = {
    "bank": "bank-a",
    "period_end": "2025-06-30",
    "tier1_net_capital": "200000",
    "total_loans": "3000000",
    "source": "测试",
}


# --- the doors -------------------------------------------------------------------------------------------------
@dataclass
class Attempt:
    door: str
    refused: bool
    fields: set[str]
    text: str


def _bank_id(code: str) -> int:
    found = Bank.objects.filter(code=code).first()
    return found.pk if found else 10**9


def _service_data(row: dict) -> dict:
    data = {k: (None if v == "" else v) for k, v in row.items()}
    data["bank"] = _bank_id(row["bank"])
    return data


def door_service(user, row: dict, *, create) -> Attempt:
    with translation.override("en"):
        try:
            create(user=user, data=_service_data(row))
        except Invalid as exc:
            return Attempt("service", True, set(exc.fields), " ".join(exc.messages()))
    return Attempt("service", False, set(), "")


def _api(user) -> APIClient:
    client = APIClient(**EN)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _api_attempt(door: str, response) -> Attempt:
    error = (
        response.json().get("error", {}) if response["Content-Type"].startswith("application/json") else {}
    )
    fields = error.get("fields") or {}
    text = " ".join([error.get("message", ""), *(m for ms in fields.values() for m in ms)])
    return Attempt(door, 400 <= response.status_code < 500, set(fields), text)


def door_api(user, row: dict, *, path: str) -> Attempt:
    body = {k: (None if v == "" else v) for k, v in row.items()}
    body["bank"] = _bank_id(row["bank"])
    return _api_attempt("api", _api(user).post(f"/api/v1/{path}/", body, format="json"))


def _csv(row: dict) -> bytes:
    return (",".join(row) + "\n" + ",".join(str(v) for v in row.values()) + "\n").encode("utf-8")


def door_api_import(user, row: dict, *, path: str) -> Attempt:
    upload = SimpleUploadedFile("register.csv", _csv(row), "text/csv")
    response = _api(user).post(f"/api/v1/{path}/import/", {"file": upload}, format="multipart")
    attempt = _api_attempt("api import", response)
    attempt.fields = {name.split(".", 1)[-1] for name in attempt.fields}  # rows[1].balance → balance
    return attempt


def door_admin_import(user, row: dict, *, model: str) -> Attempt:
    client = Client(**EN)
    client.force_login(user)
    upload = SimpleUploadedFile("register.csv", _csv(row), "text/csv")
    response = client.post(
        reverse(f"admin:partnerships_{model}_import"), {"resource": "0", "format": "0", "import_file": upload}
    )
    result = response.context["result"]
    errors = {k: v for row in result.invalid_rows for k, v in row.error.message_dict.items()}
    base = [str(e.error) for e in result.base_errors]
    refused = (result.has_validation_errors() or bool(base)) and not response.context.get("confirm_form")
    text = " ".join([*base, *(m for ms in errors.values() for m in ms)])
    return Attempt("admin import", refused, set(errors), text)


def door_admin(user, row: dict, *, model: str) -> Attempt:
    client = Client(**EN)
    client.force_login(user)
    data = dict(row)
    data["bank"] = _bank_id(row["bank"])
    if "partner" in data:
        from partnerships.models import TechPartner

        found = TechPartner.objects.filter(key=row["partner"]).first()
        data["partner"] = found.pk if found else 10**9
    response = client.post(reverse(f"admin:partnerships_{model}_add"), data)
    form = (
        response.context["adminform"].form if response.context and "adminform" in response.context else None
    )
    errors = {k: [str(m) for m in v] for k, v in (form.errors if form is not None else {}).items()}
    text = " ".join(m for ms in errors.values() for m in ms)
    return Attempt("admin", response.status_code == 200 and bool(errors), set(errors), text)


EXPOSURE_DOORS = {
    "service": lambda user, row: door_service(user, row, create=exposure_create),
    "admin": lambda user, row: door_admin(user, row, model="partnerexposure"),
    "api": lambda user, row: door_api(user, row, path="exposures"),
    "admin import": lambda user, row: door_admin_import(user, row, model="partnerexposure"),
    "api import": lambda user, row: door_api_import(user, row, path="exposures"),
}
FIGURES_DOORS = {
    "service": lambda user, row: door_service(user, row, create=bank_figures_create),
    "admin": lambda user, row: door_admin(user, row, model="bankperiodfigures"),
    "api": lambda user, row: door_api(user, row, path="bank-figures"),
    "admin import": lambda user, row: door_admin_import(user, row, model="bankperiodfigures"),
    "api import": lambda user, row: door_api_import(user, row, path="bank-figures"),
}


@dataclass(frozen=True)
class Rule:
    name: str
    change: dict
    field: str
    message: str
    doors: tuple[str, ...] = ("service", "admin", "api", "admin import", "api import")


EXPOSURE_RULES = [
    Rule(
        "period is not a month end",
        {"period_end": "2025-06-15"},
        "period_end",
        "Give the last day of the month",
    ),
    Rule(
        "period has not ended",
        {"period_end": next_month_end().isoformat()},
        "period_end",
        "has not ended yet",
    ),
    Rule(
        "negative balance",
        {"balance": "-1", "partner_funded_balance": "", "out_of_region_balance": ""},
        "balance",
        "cannot be negative",
    ),
    Rule(
        "partner-funded above the balance",
        {"partner_funded_balance": "1500"},
        "partner_funded_balance",
        "cannot be more than the balance",
    ),
    Rule(
        "out of region above the balance",
        {"out_of_region_balance": "1000.01"},
        "out_of_region_balance",
        "cannot be more than the balance",
    ),
    Rule("negative new loans", {"new_loans": "-5"}, "new_loans", "cannot be negative"),
    Rule(
        "lowest share above 100",
        {"lowest_partner_share_percent": "120"},
        "lowest_partner_share_percent",
        "between 0 and 100",
    ),
    Rule(
        "lowest share for facilitation",
        {"product": "facilitation", "partner_funded_balance": ""},
        "lowest_partner_share_percent",
        "Only joint lending has a partner's share",
    ),
    Rule(
        "partner funds a facilitated loan",
        {"product": "facilitation", "lowest_partner_share_percent": ""},
        "partner_funded_balance",
        "leave the partner-funded balance blank or 0",
    ),
    Rule("three decimal places", {"balance": "1000.125"}, "balance", "no more than 2 decimal places"),
    Rule(
        "too many digits",
        {"balance": "12345678901234567"},
        "balance",
        "no more than 16 digits before the decimal point",
    ),
    Rule(
        "unknown partner",
        {"partner": "nobody"},
        "partner",
        "Unknown partner",
        doors=("service", "api", "admin import", "api import"),
    ),
    Rule("another bank", {"bank": "bank-b"}, "bank", "Choose one of your banks."),
    Rule("a bank that does not exist", {"bank": "no-such-bank"}, "bank", "Choose one of your banks."),
    Rule(
        "the month is already recorded",
        {},
        "period_end",
        "already has figures for this partner, month and product",
        doors=("service", "admin", "api"),
    ),
]


def _cases(rules: list[Rule]):
    """Each rule at each door that can express it (the admin picks partners from a list; an import changes the
    record its row matches, so a repeated key is an update there, not a refusal)."""
    return [pytest.param(rule, door, id=f"{rule.name} · {door}") for rule in rules for door in rule.doors]


@pytest.mark.parametrize(("rule", "door"), _cases(EXPOSURE_RULES))
def test_every_exposure_rule_is_refused_at_every_door(register, rule, door):
    _banks, users, _partners = register
    analyst = users[("A", "analyst")]
    if rule.name == "the month is already recorded":
        exposure_create(user=analyst, data=_service_data(GOOD))
    before = list(PartnerExposure.objects.values_list("pk", "balance", "updated_at"))
    attempt = EXPOSURE_DOORS[door](analyst, {**GOOD, **rule.change})
    assert attempt.refused, f"{door} did not refuse: {attempt}"
    assert rule.field in attempt.fields, (door, attempt)
    assert rule.message in attempt.text, (door, attempt.text)
    assert list(PartnerExposure.objects.values_list("pk", "balance", "updated_at")) == before


FIGURES_RULES = [
    Rule(
        "period is not a month end",
        {"period_end": "2025-06-29"},
        "period_end",
        "Give the last day of the month",
    ),
    Rule(
        "period has not ended",
        {"period_end": next_month_end().isoformat()},
        "period_end",
        "has not ended yet",
    ),
    Rule("no capital", {"tier1_net_capital": "0"}, "tier1_net_capital", "more than 0"),
    Rule("negative loans", {"total_loans": "-1"}, "total_loans", "cannot be negative"),
    Rule("three decimal places", {"total_loans": "1.001"}, "total_loans", "no more than 2 decimal places"),
    Rule("another bank", {"bank": "bank-b"}, "bank", "Choose one of your banks."),
    Rule(
        "the period is already recorded",
        {},
        "period_end",
        "already has figures for this period end",
        doors=("service", "admin", "api"),
    ),
]


@pytest.mark.parametrize(("rule", "door"), _cases(FIGURES_RULES))
def test_every_bank_figures_rule_is_refused_at_every_door(register, rule, door):
    _banks, users, _partners = register
    analyst = users[("A", "analyst")]
    if rule.name == "the period is already recorded":
        bank_figures_create(user=analyst, data=_service_data(FIGURES))
    before = list(BankPeriodFigures.objects.values_list("pk", "tier1_net_capital", "updated_at"))
    attempt = FIGURES_DOORS[door](analyst, {**FIGURES, **rule.change})
    assert attempt.refused, f"{door} did not refuse: {attempt}"
    assert rule.field in attempt.fields, (door, attempt)
    assert rule.message in attempt.text, (door, attempt.text)
    assert list(BankPeriodFigures.objects.values_list("pk", "tier1_net_capital", "updated_at")) == before


def test_a_row_with_neither_figure_is_refused(register):
    _banks, users, _partners = register
    with translation.override("en"), pytest.raises(Invalid) as caught:
        bank_figures_create(
            user=users[("A", "analyst")],
            data={"bank": _bank_id("bank-a"), "period_end": "2025-06-30", "total_loans": None},
        )
    assert "Give the tier-1 net capital, the total loans or both." in caught.value.messages()
    assert not BankPeriodFigures.objects.exists()


# --- the bank profile ------------------------------------------------------------------------------------------
PROFILE_RULES = [
    (
        "local bank without a region",
        {"bank_type": "city_commercial", "home_region": ""},
        "home_region",
        "records its home region",
    ),
    ("no such bank type", {"bank_type": "shadow"}, "bank_type", "valid choice"),
    ("no such region", {"home_region": "99"}, "home_region", "valid choice"),
    ("warning level above 100", {"limit_warning_percent": "150"}, "limit_warning_percent", "at most 100"),
    ("warning level 0", {"limit_warning_percent": "0"}, "limit_warning_percent", "more than 0"),
]


def _profile_attempts(manager, bank, change: dict) -> list[Attempt]:
    attempts = []
    with translation.override("en"):
        try:
            bank_profile_update(user=manager, bank=bank, data=change)
        except Invalid as exc:
            attempts.append(Attempt("service", True, set(exc.fields), " ".join(exc.messages())))
        else:
            attempts.append(Attempt("service", False, set(), ""))
    attempts.append(
        _api_attempt("api", _api(manager).patch(f"/api/v1/banks/{bank.pk}/", change, format="json"))
    )
    client = Client(**EN)
    client.force_login(manager)
    form = {
        "bank_type": bank.bank_type,
        "home_region": bank.home_region,
        "limit_warning_percent": "80",
        **change,
    }
    response = client.post(reverse("admin:partnerships_bank_change", args=[bank.pk]), form)
    errors = response.context["adminform"].form.errors if response.status_code == 200 else {}
    text = " ".join(str(m) for ms in errors.values() for m in ms)
    attempts.append(Attempt("admin", bool(errors), set(errors), text))
    return attempts


@pytest.mark.parametrize(
    ("name", "change", "field", "message"), PROFILE_RULES, ids=[r[0] for r in PROFILE_RULES]
)
def test_every_bank_profile_rule_is_refused_at_every_door(register, name, change, field, message):
    banks, users, _partners = register
    bank = banks["A"]
    before = Bank.objects.filter(pk=bank.pk).values("bank_type", "home_region", "limit_warning_percent").get()
    for attempt in _profile_attempts(users[("A", "manager")], bank, change):
        assert attempt.refused, attempt
        assert field in attempt.fields, attempt
        assert message in attempt.text, attempt
    after = Bank.objects.filter(pk=bank.pk).values("bank_type", "home_region", "limit_warning_percent").get()
    assert after == before


def test_only_managers_change_the_profile(register):
    banks, users, _partners = register
    change = {"bank_type": "joint_stock"}
    with translation.override("en"):
        with pytest.raises(Forbidden, match="manager role"):
            bank_profile_update(user=users[("A", "analyst")], bank=banks["A"], data=change)
        with pytest.raises(NotFound):
            bank_profile_update(user=users[("B", "manager")], bank=banks["A"], data=change)
    assert (
        _api(users[("A", "analyst")])
        .patch(f"/api/v1/banks/{banks['A'].pk}/", change, format="json")
        .status_code
        == 403
    )
    assert (
        _api(users[("B", "manager")])
        .patch(f"/api/v1/banks/{banks['A'].pk}/", change, format="json")
        .status_code
        == 404
    )
    assert Bank.objects.get(pk=banks["A"].pk).bank_type == ""
    saved = bank_profile_update(
        user=users[("A", "manager")],
        bank=banks["A"],
        data={"bank_type": "city_commercial", "home_region": "32"},
    )
    assert (saved.bank_type, saved.home_region) == ("city_commercial", "32")
    assert saved.history.latest().history_user == users[("A", "manager")]


# --- who may write, and what is kept ---------------------------------------------------------------------------
def test_viewers_and_other_banks_cannot_write(register):
    _banks, users, _partners = register
    with translation.override("en"):
        with pytest.raises(Invalid) as caught:
            exposure_create(user=users[("A", "viewer")], data=_service_data(GOOD))
        assert "You need the analyst role in this bank to record its exposure." in caught.value.fields["bank"]
        exposure = exposure_create(user=users[("A", "analyst")], data=_service_data(GOOD))
        with pytest.raises(Forbidden):
            exposure_update(user=users[("A", "viewer")], exposure=exposure, data={"balance": 2})
        with pytest.raises(NotFound):
            exposure_update(user=users[("B", "manager")], exposure=exposure, data={"balance": 2})
        with pytest.raises(NotFound):
            exposure_delete(user=users[("B", "manager")], exposure=exposure)
    assert PartnerExposure.objects.get(pk=exposure.pk).balance == Decimal("1000")


def test_an_exposure_stays_with_its_bank_and_records_its_author(register):
    banks, users, _partners = register
    analyst = users[("A", "analyst")]
    exposure = exposure_create(user=analyst, data=_service_data(GOOD))
    with translation.override("en"), pytest.raises(Invalid) as caught:
        exposure_update(user=analyst, exposure=exposure, data={"bank": banks["B"].pk})
    assert "bank" in caught.value.fields
    manager = users[("A", "manager")]
    updated = exposure_update(user=manager, exposure=exposure, data={"balance": "1200.50"})
    assert updated.balance == Decimal("1200.50")
    authors = [
        h.history_user for h in PartnerExposure.history.filter(id=exposure.pk).order_by("history_date")
    ]
    assert authors == [analyst, manager]
    exposure_delete(user=manager, exposure=exposure)
    assert not PartnerExposure.objects.exists()
    assert PartnerExposure.history.filter(id=exposure.pk).latest("history_date").history_type == "-"


def test_facilitation_takes_a_zero_partner_share_and_blank_product_is_joint_lending(register):
    _banks, users, _partners = register
    analyst = users[("A", "analyst")]
    row = {**_service_data(GOOD), "product": "facilitation", "partner_funded_balance": "0"}
    row["lowest_partner_share_percent"] = None
    assert exposure_create(user=analyst, data=row).product == "facilitation"
    plain = {**_service_data(GOOD), "product": None}
    assert exposure_create(user=analyst, data=plain).product == "joint_lending"


# --- the import service: all or nothing --------------------------------------------------------------------
def test_the_import_service_writes_all_rows_or_none(register):
    _banks, users, _partners = register
    analyst = users[("A", "analyst")]
    existing = exposure_create(user=analyst, data=_service_data(GOOD))
    rows = [
        {**_service_data(GOOD), "balance": "1100"},  # matches the existing record: changes it
        {**_service_data(GOOD), "partner": "demo-fintech"},
        {**_service_data(GOOD), "partner": "demo-fintech", "balance": "-3"},
        {**_service_data(GOOD), "partner": "demo-fintech"},  # repeats row 2
    ]
    with translation.override("en"), pytest.raises(Invalid) as caught:
        exposures_import(user=analyst, rows=rows)
    fields = caught.value.fields
    assert "rows[3].balance" in fields
    assert "Row 2 already gives this partner's figures" in fields["rows[4].period_end"][0]
    assert "rows[1].balance" not in fields and "rows[2].balance" not in fields
    assert PartnerExposure.objects.count() == 1
    assert PartnerExposure.objects.get().balance == Decimal("1000")

    outcome = exposures_import(user=analyst, rows=[rows[0], rows[1]])
    assert (outcome.created, outcome.updated) == (1, 1)
    assert PartnerExposure.objects.get(pk=existing.pk).balance == Decimal("1100")
    assert PartnerExposure.objects.count() == 2
    dry = exposures_import(user=analyst, rows=[{**rows[1], "balance": "7000"}], dry_run=True)
    assert dry.updated == 1
    assert PartnerExposure.objects.get(partner__key="demo-fintech").balance == Decimal("1000")


def test_the_import_service_never_touches_another_banks_record(register):
    banks, users, _partners = register
    other = exposure_create(user=users[("B", "analyst")], data={**_service_data(GOOD), "bank": banks["B"].pk})
    with translation.override("en"), pytest.raises(Invalid) as caught:
        exposures_import(user=users[("A", "analyst")], rows=[{**_service_data(GOOD), "bank": banks["B"].pk}])
    assert caught.value.fields == {"rows[1].bank": ["Choose one of your banks."]}
    assert PartnerExposure.objects.get(pk=other.pk).updated_at == other.updated_at
