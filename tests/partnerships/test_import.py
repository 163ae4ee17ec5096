"""Initiative import from CSV / XLSX: one bad row rejects the file, naming every bad row and field."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerships.models import Initiative, InitiativePartner
from tests.factories import TechPartnerFactory

pytestmark = pytest.mark.django_db

HEADER = "bank,code,title,pillar,scenario_types,partners,status,start_date,end_date\n"


def _csv(rows: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "initiatives.csv", (HEADER + "\n".join(rows) + "\n").encode("utf-8"), "text/csv"
    )


def _import(client, upload, fmt: str = "0"):
    return client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": fmt, "import_file": upload},
    )


@pytest.fixture
def partners(db):
    return TechPartnerFactory(key="tencent"), TechPartnerFactory(key="alibaba")


def test_one_bad_row_writes_nothing_and_names_rows_and_fields(two_banks, partners, client_for):
    _banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    upload = _csv(
        [
            "bank-a,ok-1,微信支付联名卡,scenario,payment|ecommerce,tencent:lead,pilot,2024-01-01,2024-12-31",
            "bank-a,bad-2,坏的支柱,crypto,,tencent,idea,,",
            "bank-a,bad-3,日期颠倒,scenario,omni_channel_integration,nobody:boss,idea,2024-05-01,2024-01-01",
            "bank-b,bad-4,别的银行,scenario,payment,,idea,,",
        ]
    )
    response = _import(client, upload)
    assert response.status_code == 200
    result = response.context["result"]
    invalid = {row.number: row.error.message_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3, 4}
    assert "pillar" in invalid[2]
    assert {"end_date", "scenario_types", "partners"} <= set(invalid[3])
    assert "bank" in invalid[4]
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert not Initiative.objects.exists()
    assert not InitiativePartner.objects.exists()


def test_good_csv_imports_after_confirm(two_banks, partners, client_for):
    _banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    upload = _csv(
        [
            "bank-a,ok-1,微信支付联名卡,scenario,payment|ecommerce,tencent:lead|alibaba:technology,pilot,2024-01-01,",
            "bank-a,ok-2,智能客服 😀,smart_banking,omni_channel_integration,,idea,,",
        ]
    )
    response = _import(client, upload)
    assert response.status_code == 200
    confirm = response.context["confirm_form"]
    assert confirm is not None
    assert not Initiative.objects.exists()  # the first step is a dry run
    done = client.post(reverse("admin:partnerships_initiative_process_import"), confirm.initial)
    assert done.status_code == 302
    first = Initiative.objects.get(code="ok-1")
    assert first.title == "微信支付联名卡"
    assert dict(first.partner_links.values_list("partner__key", "role")) == {
        "tencent": "lead",
        "alibaba": "technology",
    }
    assert Initiative.objects.get(code="ok-2").title == "智能客服 😀"


def test_bad_xlsx_row_rejected(two_banks, partners, client_for):
    _banks, users = two_banks
    client = client_for(users[("A", "analyst")])
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [
        HEADER.strip().split(","),
        ["bank-a", "x-1", "好", "scenario", "payment", "tencent:lead", "pilot", None, None],
        ["bank-a", "x-2", "坏状态", "scenario", "payment", "", "finished", None, None],
    ]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("initiatives.xlsx", buffer.getvalue())
    response = _import(client, upload, fmt="1")
    assert response.status_code == 200
    invalid = {row.number: row.error.message_dict for row in response.context["result"].invalid_rows}
    assert list(invalid) == [2] and "status" in invalid[2]
    assert not Initiative.objects.exists()


def test_viewer_cannot_import(two_banks, client_for):
    _banks, users = two_banks
    client = client_for(users[("A", "viewer")])
    assert client.get(reverse("admin:partnerships_initiative_import")).status_code == 403
