"""Importing and exporting the exposure register (CSV / XLSX), in the admin and through the API: all or nothing, bad
files refused naming the row and field, exports in the reader's language that import back unchanged."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.exposure_resources import IMPORT_MAX_ROWS
from partnerships.models import BankPeriodFigures, PartnerExposure, TechPartner
from partnerships.services.exposure import bank_figures_create, exposure_create
from tests.factories import TechPartnerFactory

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"
HEADER = (
    "bank,partner,period_end,product,balance,partner_funded_balance,lowest_partner_share_percent,customers\n"
)


@pytest.fixture
def world(two_banks):
    banks, users = two_banks
    TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent", related_party_group="腾讯系")
    TechPartnerFactory(key="demo-fintech", name_zh_hans="演示金融科技", name_en="Demo Fintech")
    return banks, users


def admin(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def upload(content: bytes | str, name: str = "exposures.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, "application/octet-stream")


def admin_import(client, content, *, model="partnerexposure", fmt=CSV_FORMAT, name="exposures.csv"):
    return client.post(
        reverse(f"admin:partnerships_{model}_import"),
        {"resource": "0", "format": fmt, "import_file": upload(content, name)},
    )


def invalid_rows(response) -> dict[int, dict]:
    return {row.number: row.error.message_dict for row in response.context["result"].invalid_rows}


def snapshot() -> list:
    return list(PartnerExposure.objects.order_by("pk").values_list("pk", "balance", "updated_at"))


# --- the admin's import ----------------------------------------------------------------------------------------
def test_a_good_file_previews_then_imports_on_confirm(world):
    _banks, users = world
    client = admin(users[("A", "analyst")])
    content = HEADER + (
        "bank-a,tencent,2025-05-31,joint_lending,1000,350,30,500\n"
        'bank-a,tencent,2025-06-30,Joint lending,"1,100.50",385,30,520\n'
        "bank-a,demo-fintech,2025-06-30,facilitation,800,,,400\n"
    )
    response = admin_import(client, content)
    assert response.status_code == 200
    confirm = response.context["confirm_form"]
    assert confirm is not None and not invalid_rows(response)
    assert not PartnerExposure.objects.exists()  # the preview writes nothing
    done = client.post(reverse("admin:partnerships_partnerexposure_process_import"), confirm.initial)
    assert done.status_code == 302
    rows = {
        (e.partner.key, e.period_end.isoformat()): e
        for e in PartnerExposure.objects.select_related("partner")
    }
    assert len(rows) == 3
    assert str(rows[("tencent", "2025-06-30")].balance) == "1100.50"
    assert rows[("demo-fintech", "2025-06-30")].product == "facilitation"
    assert rows[("tencent", "2025-05-31")].history.latest().history_user == users[("A", "analyst")]


def test_one_bad_row_refuses_the_file_naming_every_row_and_field(world):
    _banks, users = world
    client = admin(users[("A", "analyst")])
    content = HEADER + (
        "bank-a,tencent,2025-05-31,joint_lending,1000,350,30,500\n"
        "bank-a,tencent,2025-06-15,joint_lending,abc,350,30,500\n"
        "bank-b,tencent,2025-06-30,joint_lending,1000,350,30,500\n"
        "bank-a,tencent,2025-05-31,joint_lending,900,950,130,1.5\n"
    )
    response = admin_import(client, content)
    rows = invalid_rows(response)
    assert set(rows) == {2, 3, 4}
    assert {"period_end", "balance"} <= set(rows[2])
    assert rows[3] == {"bank": ["Choose one of your banks."]}
    assert {"period_end", "partner_funded_balance", "lowest_partner_share_percent", "customers"} <= set(
        rows[4]
    )
    assert "Row 1 already gives" in rows[4]["period_end"][0]
    assert response.context.get("confirm_form") is None
    assert not PartnerExposure.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("bank,partner,balance\nbank-a,tencent,1\n", "Required columns missing: period_end."),
        (
            HEADER.replace("customers", "notes") + "bank-a,tencent,2025-05-31,,1,,,x\n",
            "Unknown columns “notes”",
        ),
        (
            "bank,partner,period_end,balance,balance\nbank-a,tencent,2025-05-31,1,2\n",
            "Columns given twice: balance.",
        ),
    ],
)
def test_a_file_with_wrong_columns_is_refused_whole(world, content, message):
    _banks, users = world
    response = admin_import(admin(users[("A", "analyst")]), content)
    errors = " ".join(str(e.error) for e in response.context["result"].base_errors)
    assert message in errors
    assert not PartnerExposure.objects.exists()


def test_too_many_rows_are_refused_before_any_row_is_read(world):
    _banks, users = world
    row = "bank-a,tencent,2025-05-31,joint_lending,1,,,\n"
    response = admin_import(admin(users[("A", "analyst")]), HEADER + row * (IMPORT_MAX_ROWS + 1))
    errors = " ".join(str(e.error) for e in response.context["result"].base_errors)
    assert f"import at most {IMPORT_MAX_ROWS} at a time" in errors
    assert not PartnerExposure.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "fmt", "message"),
    [
        ((HEADER + "bank-a,腾讯,2025-05-31,,1,,,\n").encode("gb18030"), "x.csv", CSV_FORMAT, "not UTF-8"),
        (b"not a workbook", "x.xlsx", XLSX_FORMAT, "not an XLSX workbook"),
    ],
)
def test_an_unreadable_file_is_a_form_error(world, content, name, fmt, message):
    _banks, users = world
    response = admin_import(admin(users[("A", "analyst")]), content, fmt=fmt, name=name)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["import_file"])
    assert not PartnerExposure.objects.exists()


def test_a_row_that_breaks_between_preview_and_confirm_rolls_back_the_whole_file(world):
    _banks, users = world
    analyst = users[("A", "analyst")]
    client = admin(analyst)
    content = HEADER + (
        "bank-a,tencent,2025-05-31,joint_lending,1000,350,30,500\n"
        "bank-a,demo-fintech,2025-05-31,joint_lending,1000,350,30,500\n"
    )
    confirm = admin_import(client, content).context["confirm_form"]
    # Meanwhile a partner leaves the register: the confirm step checks every row again.
    TechPartner.objects.filter(key="demo-fintech").delete()
    done = client.post(
        reverse("admin:partnerships_partnerexposure_process_import"), confirm.initial, follow=True
    )
    assert any("Nothing was imported" in str(m) for m in done.context["messages"])
    assert not PartnerExposure.objects.exists()


def test_viewers_cannot_reach_the_import(world):
    _banks, users = world
    response = admin(users[("A", "viewer")]).get(reverse("admin:partnerships_partnerexposure_import"))
    assert response.status_code == 403


def test_bank_figures_import_and_refusal(world):
    _banks, users = world
    client = admin(users[("A", "analyst")])
    header = "bank,period_end,tier1_net_capital,total_loans\n"
    bad = admin_import(
        client, header + "bank-a,2025-06-30,0,100\nbank-a,2025-06-30,5,100\n", model="bankperiodfigures"
    )
    rows = invalid_rows(bad)
    assert set(rows) == {1, 2} and "tier1_net_capital" in rows[1] and "period_end" in rows[2]
    assert not BankPeriodFigures.objects.exists()
    good = admin_import(client, header + "bank-a,2025-06-30,200000,\n", model="bankperiodfigures")
    client.post(
        reverse("admin:partnerships_bankperiodfigures_process_import"), good.context["confirm_form"].initial
    )
    figures = BankPeriodFigures.objects.get()
    assert figures.tier1_net_capital == 200000 and figures.total_loans is None


# --- export, and export → import ------------------------------------------------------------------------------
@pytest.fixture
def recorded(world):
    banks, users = world
    analyst = users[("A", "analyst")]
    exposure_create(
        user=analyst,
        data={
            "bank": banks["A"].pk,
            "partner": "tencent",
            "period_end": "2025-06-30",
            "balance": "1250.50",
            "partner_funded_balance": "437.68",
            "lowest_partner_share_percent": "30.5",
            "customers": 612,
            "source": '=HYPERLINK("x")',
        },
    )
    exposure_create(
        user=analyst,
        data={
            "bank": banks["A"].pk,
            "partner": "demo-fintech",
            "period_end": "2025-06-30",
            "product": "facilitation",
            "balance": "80",
        },
    )
    exposure_create(
        user=users[("B", "analyst")],
        data={"bank": banks["B"].pk, "partner": "tencent", "period_end": "2025-06-30", "balance": "9"},
    )
    bank_figures_create(
        user=analyst, data={"bank": banks["A"].pk, "period_end": "2025-06-30", "tier1_net_capital": "200000"}
    )
    return banks, users


def export(client, *, model="partnerexposure", fmt=CSV_FORMAT) -> bytes:
    response = client.post(
        reverse(f"admin:partnerships_{model}_export"), {"format": fmt, "resource": "0", **_all_fields(model)}
    )
    assert response.status_code == 200, response.content[:300]
    return response.content


def _all_fields(model: str) -> dict:
    names = {
        "partnerexposure": (
            "partnerexposureresource",
            [
                "bank",
                "partner",
                "period_end",
                "product",
                "balance",
                "partner_funded_balance",
                "lowest_partner_share_percent",
                "customers",
                "new_loans",
                "out_of_region_balance",
                "source",
            ],
        ),
        "bankperiodfigures": (
            "bankperiodfiguresresource",
            ["bank", "period_end", "tier1_net_capital", "total_loans", "source"],
        ),
    }[model]
    return {f"{names[0]}_{name}": "on" for name in names[1]}


def test_a_chinese_export_reads_in_chinese_and_holds_only_the_readers_banks(recorded):
    _banks, users = recorded
    content = export(admin(users[("A", "analyst")], "zh-hans")).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    header = rows[0]
    assert header[:4] == ["银行编码", "银行", "合作方标识", "合作方"]
    assert "余额（万元）" in header
    assert len(rows) == 3  # bank A's two records, not bank B's
    by_partner = {row[2]: row for row in rows[1:]}
    assert by_partner["demo-fintech"][header.index("产品")] == "助贷"
    assert by_partner["tencent"][header.index("余额（万元）")] == "1250.50"
    assert by_partner["tencent"][header.index("来源说明")].startswith("'=")  # no live formula


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_an_export_imports_back_unchanged(recorded, language, fmt):
    _banks, users = recorded
    client = admin(users[("A", "analyst")], language)
    content = export(client, fmt=fmt)
    before = snapshot()
    response = admin_import(client, content, fmt=fmt, name="back.xlsx" if fmt == XLSX_FORMAT else "back.csv")
    assert not invalid_rows(response), invalid_rows(response)
    assert not response.context["result"].base_errors
    client.post(
        reverse("admin:partnerships_partnerexposure_process_import"), response.context["confirm_form"].initial
    )
    after = list(PartnerExposure.objects.order_by("pk").values_list("pk", "balance"))
    assert after == [(pk, balance) for pk, balance, _at in before]
    tencent = PartnerExposure.objects.get(partner__key="tencent", bank__code="bank-a")
    assert tencent.source == '=HYPERLINK("x")' and str(tencent.lowest_partner_share_percent) == "30.5000"


def test_bank_figures_export_imports_back(recorded):
    _banks, users = recorded
    client = admin(users[("A", "analyst")])
    content = export(client, model="bankperiodfigures", fmt=XLSX_FORMAT)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet[1]][:3] == ["Bank code", "Bank", "Period end"]
    response = admin_import(client, content, model="bankperiodfigures", fmt=XLSX_FORMAT, name="f.xlsx")
    assert not invalid_rows(response) and response.context["confirm_form"] is not None


# --- the API's import ---------------------------------------------------------------------------------------------
def test_the_api_imports_a_file_all_or_nothing(world):
    _banks, users = world
    client = api(users[("A", "analyst")])
    bad = (
        HEADER
        + "bank-a,tencent,2025-05-31,joint_lending,1000,350,30,500\nbank-a,tencent,2025-06-30,,10,20,,\n"
    )
    response = client.post("/api/v1/exposures/import/", {"file": upload(bad)}, format="multipart")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"rows[2].partner_funded_balance"}
    assert not PartnerExposure.objects.exists()
    good = HEADER + "bank-a,tencent,2025-05-31,joint_lending,1000,350,30,500\n"
    response = client.post("/api/v1/exposures/import/", {"file": upload(good)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1 and response.json()["updated"] == 0
    again = client.post("/api/v1/exposures/import/", {"file": upload(good)}, format="multipart")
    assert again.json()["updated"] == 1 and PartnerExposure.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xff\xfe\x00garbage", "x.csv", "not UTF-8"),
        (b"not a workbook", "x.xlsx", "not an XLSX workbook"),
        (b"bank,period_end\n", "x.csv", "no rows to import"),
        (b"bank,nonsense\nbank-a,1\n", "x.csv", "Unknown columns"),
    ],
)
def test_the_api_refuses_an_unreadable_file_on_the_file_field(world, content, name, message):
    _banks, users = world
    response = api(users[("A", "analyst")]).post(
        "/api/v1/bank-figures/import/", {"file": upload(content, name)}, format="multipart"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert message in " ".join(fields["file"])
    assert not BankPeriodFigures.objects.exists()


def test_the_api_import_needs_a_file_and_a_writer(world):
    _banks, users = world
    assert (
        api(users[("A", "analyst")]).post("/api/v1/exposures/import/", {}, format="multipart").status_code
        == 400
    )
    response = api(users[("A", "viewer")]).post(
        "/api/v1/exposures/import/",
        {"file": upload(HEADER + "bank-a,tencent,2025-05-31,,1,,,\n")},
        format="multipart",
    )
    assert response.status_code == 403
    assert not PartnerExposure.objects.exists()
