"""The initiative export reads in the user's language and imports back unchanged, from either language.

A Chinese file has Chinese headers, choices as their Chinese labels, yes/no as 是/否 and empty cells for empty
values — never "True", "False" or "None" — while the keys a file needs to be imported again (bank code, pillar,
scenario-type and partner keys) stay, each followed by a column of what they mean. The import takes both
languages' headers and labels, the keys, and yes/no in every spelling, and writes through the initiative
services (the history records each change, as the admin form does).
"""

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerships.models import Initiative, ScenarioType
from partnerships.resources import InitiativeResource
from tests.factories import InitiativeFactory, InitiativePartnerFactory, TechPartnerFactory

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"
FIELDS = InitiativeResource().get_export_order()
CJK = re.compile(r"[\u4e00-\u9fff]")

ZH_HEADERS = [
    "银行编码",
    "银行",
    "编码",
    "标题",
    "描述",
    "合作支柱标识",
    "合作支柱",
    "场景类型标识",
    "场景类型",
    "合作方标识及角色",
    "合作方",
    "状态",
    "开始日期",
    "结束日期",
    "个人信息类别",
    "合法性基础/同意依据",
    "已完成安全评估",
    "跨境传输",
    "跨境传输机制",
]
EN_HEADERS = [
    "Bank code",
    "Bank",
    "Code",
    "Title",
    "Description",
    "Pillar key",
    "Pillar",
    "Scenario type keys",
    "Scenario types",
    "Partner keys and roles",
    "Partners",
    "Status",
    "Start date",
    "End date",
    "Personal-data categories",
    "Lawful / consent basis",
    "Security assessment done",
    "Cross-border transfer",
    "Transfer mechanism",
]
# Columns of a Chinese file that hold words of ours (names, labels, yes/no): never a Latin letter there. The others
# hold what users typed (codes, titles), dates, or the keys a file needs to be imported again.
WORD_COLUMNS = [
    "银行",
    "合作支柱",
    "场景类型",
    "合作方",
    "状态",
    "个人信息类别",
    "合法性基础/同意依据",
    "已完成安全评估",
    "跨境传输",
    "跨境传输机制",
]


@pytest.fixture
def initiatives(two_banks):
    """One data-sharing initiative with every fact set, one plain scenario initiative with nothing optional."""
    banks, users = two_banks
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    jd = TechPartnerFactory(key="jd", name_zh_hans="京东", name_en="JD.com")
    full = InitiativeFactory(
        bank=banks["A"],
        code="ds-1",
        title="数据共享平台试点",
        description="与腾讯、京东共建",
        pillar_id="data_sharing",
        status="pilot",
        start_date=datetime.date(2024, 1, 1),
        end_date=datetime.date(2024, 12, 31),
        personal_data_categories=["identity", "financial"],
        lawful_basis="separate_consent",
        security_assessment_done=True,
        cross_border_transfer=True,
        transfer_mechanism="standard_contract",
    )
    full.scenario_types.set(ScenarioType.objects.filter(key="data_sharing_platform"))
    InitiativePartnerFactory(initiative=full, partner=tencent, role="lead")
    InitiativePartnerFactory(initiative=full, partner=jd, role="data")
    plain = InitiativeFactory(
        bank=banks["A"], code="sc-1", title="场景合作", pillar_id="scenario", status="idea"
    )
    return users, full, plain


def _client(client_for, users, language: str):
    client = client_for(users[("A", "analyst")])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _export(client, fmt: str) -> bytes:
    response = client.post(
        reverse("admin:partnerships_initiative_export"),
        {"format": fmt, "resource": "0", **{f"initiativeresource_{f}": "on" for f in FIELDS}},
    )
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    return response.content


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def _by_code(rows: list[list], header: list[str]) -> dict[str, dict]:
    code = header.index("编码") if "编码" in header else header.index("Code")
    return {row[code]: dict(zip(header, row, strict=True)) for row in rows[1:]}


def _state(initiative: Initiative) -> dict:
    initiative.refresh_from_db()
    return {
        **{
            f: getattr(initiative, f)
            for f in FIELDS
            if f not in ("bank", "pillar", "scenario_types", "partners")
        },
        "bank": initiative.bank.code,
        "pillar": initiative.pillar_id,
        "scenario_types": sorted(initiative.scenario_types.values_list("key", flat=True)),
        "partners": sorted(initiative.partner_links.values_list("partner__key", "role")),
    }


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_a_chinese_export_reads_in_chinese(initiatives, client_for, fmt):
    users, _full, _plain = initiatives
    content = _export(_client(client_for, users, "zh-hans"), fmt)
    rows = _csv_rows(content) if fmt == CSV_FORMAT else _xlsx_rows(content)
    # Every header in Chinese (columns added to the resource later included); ours in this order.
    assert all(CJK.search(h) for h in rows[0]), [h for h in rows[0] if not CJK.search(h)]
    assert [h for h in rows[0] if h in ZH_HEADERS] == ZH_HEADERS
    by_code = _by_code(rows, rows[0])
    full, plain = by_code["ds-1"], by_code["sc-1"]
    assert full["银行"] == "甲银行" and full["合作支柱"] == "强化客户资源共享，拓展消费金融"
    assert full["状态"] == "试点" and plain["状态"] == "构想"
    assert full["个人信息类别"] == "身份信息|财产与账户信息"
    assert full["合作方标识及角色"] == "jd:data|tencent:lead"  # by role, as the admin lists them
    assert full["合作方"].startswith("京东（") and full["合作方"].endswith("）、腾讯（牵头合作方）")
    assert (full["已完成安全评估"], full["跨境传输"], plain["已完成安全评估"]) == ("是", "是", "否")
    assert full["合法性基础/同意依据"].startswith("单独同意")
    empty = "" if fmt == CSV_FORMAT else None  # an empty value is an empty cell
    assert (
        plain["合法性基础/同意依据"] == empty
        and plain["跨境传输机制"] == empty
        and plain["开始日期"] == empty
        and plain["跨境传输"] == empty  # not recorded (None): neither 是 nor 否
    )
    for row in rows[1:]:
        for header, value in zip(rows[0], row, strict=True):
            assert value not in ("True", "False", "None", True, False), (header, value)
            if header in WORD_COLUMNS and isinstance(value, str) and re.search("[A-Za-z]", value):
                raise AssertionError(f"English in the Chinese file: {header} = {value!r}")
    assert not (
        {"pilot", "idea", "separate_consent", "standard_contract", "identity"}
        & {v for row in rows[1:] for v in row if isinstance(v, str)}
    )  # choice keys never stand for their labels


def test_an_english_export_reads_in_english(initiatives, client_for):
    users, _full, _plain = initiatives
    rows = _xlsx_rows(_export(_client(client_for, users, "en"), XLSX_FORMAT))
    assert [h for h in rows[0] if h in EN_HEADERS] == EN_HEADERS
    full = _by_code(rows, rows[0])["ds-1"]
    assert (full["Status"], full["Security assessment done"], full["Cross-border transfer"]) == (
        "Pilot",
        "Yes",
        "Yes",
    )
    assert full["Personal-data categories"] == "Identity data|Financial and account data"
    assert full["Pillar"] == "Customer-data sharing and consumer finance" and full["Bank"] == "Bank A"
    assert full["Partners"] == "JD.com (Data provider), Tencent (Lead partner)"
    assert not any(CJK.search(h) for h in rows[0]) and rows[0][:3] == ["Bank code", "Bank", "Code"]


def _import(client, content: bytes, fmt: str, name: str):
    response = client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": fmt, "import_file": SimpleUploadedFile(name, content)},
    )
    assert response.status_code == 200
    confirm = response.context.get("confirm_form")
    result = response.context.get("result")
    assert confirm is not None, (
        [(r.number, r.error.message_dict) for r in result.invalid_rows]
        if result
        else response.context["form"].errors,
        [str(e.error) for e in result.base_errors] if result else None,
    )
    return client.post(reverse("admin:partnerships_initiative_process_import"), confirm.initial)


@pytest.mark.parametrize(
    ("language", "fmt", "name"),
    [
        ("zh-hans", CSV_FORMAT, "导出.csv"),
        ("zh-hans", XLSX_FORMAT, "导出.xlsx"),
        ("en", CSV_FORMAT, "export.csv"),
        ("en", XLSX_FORMAT, "export.xlsx"),
    ],
)
def test_an_export_in_either_language_imports_back_unchanged(initiatives, client_for, language, fmt, name):
    users, full, plain = initiatives
    client = _client(client_for, users, language)
    before = {i.code: _state(i) for i in (full, plain)}
    content = _export(client, fmt)
    history = full.history.count()
    assert _import(client, content, fmt, name).status_code == 302
    assert {i.code: _state(i) for i in (full, plain)} == before
    assert Initiative.objects.count() == 2
    assert full.history.count() > history  # written by the service (a history row per save), not bypassed


def test_a_chinese_file_imports_in_an_english_session_and_the_reverse(initiatives, client_for):
    users, full, _plain = initiatives
    before = _state(full)
    zh_file = _export(_client(client_for, users, "zh-hans"), CSV_FORMAT)
    assert _import(_client(client_for, users, "en"), zh_file, CSV_FORMAT, "zh.csv").status_code == 302
    en_file = _export(_client(client_for, users, "en"), XLSX_FORMAT)
    assert _import(_client(client_for, users, "zh-hans"), en_file, XLSX_FORMAT, "en.xlsx").status_code == 302
    assert _state(full) == before


@pytest.mark.parametrize(
    ("yes", "no"),
    [("是", "否"), ("Yes", "No"), ("yes", "no"), ("True", "False"), ("true", "false"), ("1", "0")],
)
def test_a_hand_written_file_may_use_keys_labels_and_any_yes_no(initiatives, client_for, yes, no):
    users, _full, _plain = initiatives
    client = _client(client_for, users, "zh-hans")
    header = "银行编码,编码,标题,合作支柱标识,状态,个人信息类别,Lawful / consent basis,已完成安全评估,cross_border_transfer,跨境传输机制"
    rows = [
        f"bank-a,new-1,新项目,data_sharing,试点,身份信息|credit,separate_consent,{yes},{yes},Standard contract filed",
        f"bank-a,new-2,另一个,scenario,Proposed,,,{no},{no},",
    ]
    content = ("\n".join([header, *rows]) + "\n").encode()
    assert _import(client, content, CSV_FORMAT, "手写.csv").status_code == 302
    first, second = Initiative.objects.get(code="new-1"), Initiative.objects.get(code="new-2")
    assert (first.status, first.personal_data_categories) == ("pilot", ["identity", "credit"])
    assert (first.lawful_basis, first.transfer_mechanism) == ("separate_consent", "standard_contract")
    assert first.security_assessment_done is True and first.cross_border_transfer is True
    assert (second.status, second.security_assessment_done, second.cross_border_transfer) == (
        "proposed",
        False,
        False,
    )


def test_an_unknown_label_is_a_row_error_naming_the_field(initiatives, client_for):
    users, _full, _plain = initiatives
    client = _client(client_for, users, "en")
    content = "bank,code,title,pillar,status,security_assessment_done\nbank-a,x-1,坏,scenario,Finished,也许\n".encode()
    response = client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": CSV_FORMAT, "import_file": SimpleUploadedFile("bad.csv", content)},
    )
    invalid = {r.number: set(r.error.message_dict) for r in response.context["result"].invalid_rows}
    assert invalid == {1: {"status", "security_assessment_done"}}
    assert not response.context.get("confirm_form") and not Initiative.objects.filter(code="x-1").exists()
