"""The exposure register's API: ``exposures/`` and ``bank-figures/`` (CRUD through the services, filters, tenancy,
imports) and the bank's lending profile on ``banks/``."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerships.models import BankPeriodFigures, PartnerExposure
from partnerships.services.exposure import bank_figures_create, exposure_create
from tests.api.conftest import API
from tests.factories import TechPartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(two_banks):
    banks, users = two_banks
    TechPartnerFactory(key="tencent", related_party_group="腾讯系")
    TechPartnerFactory(key="demo-fintech", related_party_group="演示控股集团")
    TechPartnerFactory(key="demo-guarantor", related_party_group="演示控股集团")
    analyst = users[("A", "analyst")]

    def record(bank, partner, period, balance, **extra):
        return exposure_create(
            user=None,
            data={
                "bank": banks[bank].pk,
                "partner": partner,
                "period_end": period,
                "balance": balance,
                **extra,
            },
        )

    rows = {
        "a-tencent-may": record("A", "tencent", "2025-05-31", "100"),
        "a-tencent-jun": record("A", "tencent", "2025-06-30", "110"),
        "a-fintech-jun": record("A", "demo-fintech", "2025-06-30", "300"),
        "a-guarantor-jun": record("A", "demo-guarantor", "2025-06-30", "150", product="facilitation"),
        "b-tencent-jun": record("B", "tencent", "2025-06-30", "9"),
    }
    figures = {
        "a-mar": bank_figures_create(
            user=analyst,
            data={"bank": banks["A"].pk, "period_end": "2025-03-31", "tier1_net_capital": "2000"},
        ),
        "a-jun": bank_figures_create(
            user=analyst, data={"bank": banks["A"].pk, "period_end": "2025-06-30", "total_loans": "30000"}
        ),
        "b-jun": bank_figures_create(
            user=None, data={"bank": banks["B"].pk, "period_end": "2025-06-30", "tier1_net_capital": "9"}
        ),
    }
    return banks, users, rows, figures


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list_holds_the_callers_banks_with_the_partner_and_its_group(world, client_as):
    banks, users, rows, _figures = world
    response = client_as(users[("A", "viewer")]).get(f"{API}exposures/")
    assert ids(response) == {rows[k].pk for k in rows if k.startswith("a-")}
    first = response.json()["results"][0]
    assert first["period_end"] == "2025-06-30"  # newest first
    row = next(r for r in response.json()["results"] if r["id"] == rows["a-fintech-jun"].pk)
    assert row["partner"] == "demo-fintech" and row["related_party_group"] == "演示控股集团"
    assert row["balance"] == 300 and row["bank"] == banks["A"].pk
    assert ids(client_as(users[("B", "manager")]).get(f"{API}exposures/")) == {rows["b-tencent-jun"].pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("partner=tencent", {"a-tencent-may", "a-tencent-jun"}),
        ("related_party_group=演示控股集团", {"a-fintech-jun", "a-guarantor-jun"}),
        ("product=facilitation", {"a-guarantor-jun"}),
        ("period_from=2025-06-01", {"a-tencent-jun", "a-fintech-jun", "a-guarantor-jun"}),
        ("period_to=2025-05-31", {"a-tencent-may"}),
        ("period_from=2025-05-01&period_to=2025-05-31&partner=tencent", {"a-tencent-may"}),
        ("ordering=balance", None),
    ],
)
def test_filters(world, client_as, query, expected):
    _banks, users, rows, _figures = world
    response = client_as(users[("A", "analyst")]).get(f"{API}exposures/?{query}")
    if expected is None:
        balances = [row["balance"] for row in response.json()["results"]]
        assert balances == sorted(balances)
    else:
        assert ids(response) == {rows[name].pk for name in expected}


@pytest.mark.parametrize("query", ["bank=abc", "period_from=2025-13-01", "product=cash", "ordering=secret"])
def test_bad_filters_are_400_naming_the_parameter(world, client_as, query):
    _banks, users, _rows, _figures = world
    response = client_as(users[("A", "analyst")]).get(f"{API}exposures/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]["fields"]


def test_the_bank_filter_of_another_bank_finds_nothing(world, client_as):
    banks, users, _rows, _figures = world
    assert ids(client_as(users[("A", "analyst")]).get(f"{API}exposures/?bank={banks['B'].pk}")) == set()


def test_create_update_delete_through_the_services(world, client_as):
    banks, users, _rows, _figures = world
    client = client_as(users[("A", "analyst")])
    body = {
        "bank": banks["A"].pk,
        "partner": "demo-fintech",
        "period_end": "2025-07-31",
        "balance": "320.50",
        "partner_funded_balance": 112.18,
        "lowest_partner_share_percent": 30,
        "customers": 160,
    }
    created = client.post(f"{API}exposures/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created["Location"].endswith(f"/api/v1/exposures/{pk}/")
    assert created.json()["product"] == "joint_lending" and created.json()["balance"] == 320.5
    saved = PartnerExposure.objects.get(pk=pk)
    assert saved.history.latest().history_user == users[("A", "analyst")]
    again = client.post(f"{API}exposures/", body, format="json")
    assert again.status_code == 400 and "period_end" in again.json()["error"]["fields"]
    patched = client.patch(f"{API}exposures/{pk}/", {"balance": "400"}, format="json")
    assert patched.status_code == 200 and patched.json()["balance"] == 400
    refused = client.patch(f"{API}exposures/{pk}/", {"partner_funded_balance": "401"}, format="json")
    assert refused.status_code == 400
    assert "partner_funded_balance" in refused.json()["error"]["fields"]
    moved = client.patch(f"{API}exposures/{pk}/", {"bank": banks["B"].pk}, format="json")
    assert moved.status_code == 400 and "bank" in moved.json()["error"]["fields"]
    assert client.delete(f"{API}exposures/{pk}/").status_code == 204
    assert not PartnerExposure.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(
    ("role", "read", "write", "delete"),
    [
        ("viewer", 200, 403, 403),
        ("analyst", 200, 200, 204),
        ("manager", 200, 200, 204),
        ("other", 404, 404, 404),
        ("superuser", 200, 200, 204),
    ],
)
def test_tenancy_and_roles(world, client_as, role, read, write, delete):
    banks, users, rows, figures = world
    user = {
        "viewer": users[("A", "viewer")],
        "analyst": users[("A", "analyst")],
        "manager": users[("A", "manager")],
        "other": users[("B", "manager")],
        "superuser": UserFactory(username="root", is_superuser=True),
    }[role]
    client = client_as(user)
    for path, pk, change in (
        ("exposures", rows["a-tencent-jun"].pk, {"balance": "111"}),
        ("bank-figures", figures["a-jun"].pk, {"total_loans": "31000"}),
    ):
        assert client.get(f"{API}{path}/{pk}/").status_code == read
        assert client.patch(f"{API}{path}/{pk}/", change, format="json").status_code == write
        assert client.delete(f"{API}{path}/{pk}/").status_code == delete
    if role == "other":
        assert PartnerExposure.objects.filter(pk=rows["a-tencent-jun"].pk, balance=110).exists()
        response = client.post(
            f"{API}exposures/",
            {"bank": banks["A"].pk, "partner": "tencent", "period_end": "2025-07-31", "balance": "1"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"bank": ["Choose one of your banks."]}


def test_bank_figures_filters_and_create(world, client_as):
    banks, users, _rows, figures = world
    client = client_as(users[("A", "analyst")])
    assert ids(client.get(f"{API}bank-figures/")) == {figures["a-mar"].pk, figures["a-jun"].pk}
    assert ids(client.get(f"{API}bank-figures/?period_from=2025-04-01")) == {figures["a-jun"].pk}
    row = client.get(f"{API}bank-figures/{figures['a-jun'].pk}/").json()
    assert row["tier1_net_capital"] is None and row["total_loans"] == 30000
    created = client.post(
        f"{API}bank-figures/",
        {"bank": banks["A"].pk, "period_end": "2025-09-30", "tier1_net_capital": "2100", "total_loans": None},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert BankPeriodFigures.objects.filter(bank=banks["A"]).count() == 3


# --- the bank's profile ------------------------------------------------------------------------------------------
def test_the_bank_shows_its_profile_and_managers_change_it(world, client_as):
    banks, users, _rows, _figures = world
    url = f"{API}banks/{banks['A'].pk}/"
    shown = client_as(users[("A", "viewer")]).get(url).json()
    assert {"bank_type": "", "home_region": "", "limit_warning_percent": 80}.items() <= shown.items()
    change = {"bank_type": "city_commercial", "home_region": "32", "limit_warning_percent": "85"}
    assert client_as(users[("A", "viewer")]).patch(url, change, format="json").status_code == 403
    assert client_as(users[("A", "analyst")]).patch(url, change, format="json").status_code == 403
    assert client_as(users[("B", "manager")]).patch(url, change, format="json").status_code == 404
    response = client_as(users[("A", "manager")]).patch(url, {**change, "code": "renamed"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["bank_type"], body["home_region"], body["limit_warning_percent"], body["code"]) == (
        "city_commercial",
        "32",
        85,
        "bank-a",
    )
    assert client_as(users[("A", "manager")]).put(url, change, format="json").status_code == 405


# --- imports -----------------------------------------------------------------------------------------------------
def test_the_import_names_row_and_field_and_writes_nothing(world, client_as):
    _banks, users, _rows, _figures = world
    content = (
        "银行编码,合作方标识,月末日期,余额（万元）\n"
        "bank-a,tencent,2025-07-31,100\n"
        "bank-a,tencent,2025-07-30,100\n"
        "bank-a,nobody,2025-07-31,x\n"
    )
    before = PartnerExposure.objects.count()
    response = client_as(users[("A", "analyst")]).post(
        f"{API}exposures/import/",
        {"file": SimpleUploadedFile("e.csv", content.encode("utf-8"))},
        format="multipart",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"rows[2].period_end", "rows[3].partner", "rows[3].balance"}
    assert PartnerExposure.objects.count() == before


def test_an_import_matches_existing_records_by_their_key(world, client_as):
    _banks, users, rows, _figures = world
    content = (
        "bank,partner,period_end,balance\nbank-a,tencent,2025-06-30,115\nbank-a,tencent,2025-07-31,120\n"
    )
    response = client_as(users[("A", "analyst")]).post(
        f"{API}exposures/import/", {"file": SimpleUploadedFile("e.csv", content.encode())}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert response.json()["ids"][0] == rows["a-tencent-jun"].pk
    assert PartnerExposure.objects.get(pk=rows["a-tencent-jun"].pk).balance == 115


def test_an_xlsx_workbook_imports_through_the_api(world, client_as):
    import datetime
    import io

    import openpyxl

    banks, users, _rows, _figures = world
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Bank code", "Period end", "Tier-1 net capital (10k CNY)", "Total loans (10k CNY)"])
    sheet.append(["bank-a", datetime.datetime(2025, 9, 30), 2100.5, None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client_as(users[("A", "analyst")]).post(
        f"{API}bank-figures/import/",
        {"file": SimpleUploadedFile("figures.xlsx", buffer.getvalue())},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    saved = BankPeriodFigures.objects.get(pk=response.json()["ids"][0])
    assert (saved.bank_id, str(saved.period_end), str(saved.tier1_net_capital)) == (
        banks["A"].pk,
        "2025-09-30",
        "2100.50",
    )
    assert saved.total_loans is None
