"""A report's files in one language each, and its figures written one way on the page, in the mail and in the files.

A Chinese download reads in Chinese: no English header or title, no choice key, no True/False/None; what may
read in Latin letters is what users typed (codes, the bank code), tier letters and the acronyms KPI / HHI / ID.
Figures: totals with one decimal, percentages with %, the HHI grouped; in the workbook numbers stay numbers.
"""

import csv
import datetime
import io
import re

import pytest
from django.core import mail
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.models import Membership
from scoring.reports.export import report_csv, report_xlsx
from scoring.reports.render import report_render
from scoring.reports.services import report_generate
from tests.reports.conftest import set_score

pytestmark = pytest.mark.django_db

WEEK = datetime.date(2024, 11, 11)
LATIN = re.compile(r"[A-Za-z]")
CJK = re.compile(r"[\u4e00-\u9fff]")
# What may read in Latin letters in a Chinese file: the acronyms of the domain, tier letters, and data.
ACRONYMS = re.compile(r"\b(KPI|HHI|ID|P2P|O2O)\b")
KEYS = {
    "True",
    "False",
    "None",
    "idea",
    "proposed",
    "pilot",
    "live",
    "retired",
    "unrated",
    "below threshold",
    "never_scored",
    "outdated_rubric",
    "not_rescored",
    "high",
    "moderate",
    "low",
    "top",
    "bottom",
    "unscored",
    "front_end",
    "back_end",
    "general",
    "acquisition",
    "growth",
    "scenario",
    "data_sharing",
    "smart_banking",
}


@pytest.fixture
def report(portfolio):
    banks, _users, i = portfolio
    # A score computed late in the evening, UTC: in Beijing it is already the next day.
    set_score(i["a9"], 100.0, "A", computed_at=datetime.datetime(2024, 10, 1, 18, 30, tzinfo=datetime.UTC))
    return report_generate(bank_id=banks["A"].pk, period_start=WEEK, deliver=False)


def _data(portfolio) -> set[str]:
    """Text users typed in the fixture portfolio: codes, titles, the bank code."""
    _banks, _users, i = portfolio
    typed = {"bank-a"}
    for initiative in i.values():
        typed |= {initiative.code, initiative.title}
    return typed


def _csv_cells(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _english_left(text: str, typed: set[str]) -> bool:
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, "")
    text = ACRONYMS.sub("", text)
    text = re.sub(r"\b[A-D]\b", "", text)  # tier letters
    return bool(LATIN.search(text))


def test_a_chinese_csv_has_no_english_no_keys_and_no_python_values(report, portfolio):
    rows = _csv_cells(report_csv(report, language="zh-hans"))
    typed = _data(portfolio)
    for row in rows:
        for cell in row:
            assert cell not in KEYS, cell
            assert not _english_left(cell, typed), cell
    titles = [r[0] for r in rows if r and r[0].startswith("# ")]
    headers = [rows[rows.index(r) + 1] for r in rows if r and r[0].startswith("# ")]
    assert len(titles) == 14 and all(CJK.search(t) for t in titles)
    assert all(CJK.search(h) or not ACRONYMS.sub("", h).strip() for row in headers for h in row), headers


def test_a_chinese_workbook_has_no_english_no_keys_and_no_booleans(report, portfolio):
    wb = load_workbook(io.BytesIO(report_xlsx(report, language="zh-hans")))
    typed = _data(portfolio)
    for ws in wb:
        assert CJK.search(ws.title), ws.title
        for row in ws.iter_rows():
            for cell in row:
                assert not isinstance(cell.value, bool), (ws.title, cell.coordinate)  # Excel would show TRUE
                if isinstance(cell.value, str):
                    assert cell.value not in KEYS and not _english_left(cell.value, typed), cell.value


def test_an_english_file_reads_in_english(report):
    rows = _csv_cells(report_csv(report, language="en"))
    headers = [rows[rows.index(r) + 1] for r in rows if r and r[0].startswith("# ")]
    assert not any(CJK.search(h) for row in headers for h in row)
    cells = {c for row in rows for c in row}
    assert {"Yes", "No", "Highly concentrated", "Not rated", "Live"} <= cells
    assert not cells & {"True", "False", "None", "是", "否"}


def _section(rows: list[list[str]], title: str) -> list[dict[str, str]]:
    """The rows of one CSV section as dicts by header, up to the blank line that ends it."""
    start = rows.index([f"# {title}"]) + 1
    header, found = rows[start], []
    for row in rows[start + 1 :]:
        if not row:
            break
        found.append(dict(zip(header, row, strict=True)))
    return found


def test_figures_are_formatted_per_kind_in_the_csv(report):
    rows = _csv_cells(report_csv(report, language="zh-hans"))
    summary = {r["条目"]: r["数值"] for r in _section(rows, "概要")}
    assert summary["平均分"] == "57.7" and summary["合作方 HHI"] == "3,438"
    first = _section(rows, "前五名与后五名")[0]
    assert (first["编码"], first["总分"], first["暂定"]) == ("a9", "100.0", "否")
    attainment = {r["KPI"]: r["达成率"] for r in _section(rows, "KPI 达成率")}
    assert attainment["线上获客数"] == "50%" and attainment["支付笔数(万)"] == "100%"
    assert attainment["共享客户数"] == ""  # not measured: an empty cell, never "None"
    partners = {r["合作方"]: r["份额"] for r in _section(rows, "合作方集中度")}
    assert partners == {"腾讯": "50%", "阿里巴巴": "25%", "百度": "12.5%", "京东": "12.5%"}
    failed = {r["编码"]: r for r in _section(rows, "未过门槛")}
    assert (failed["a3"]["评分值"], failed["a3"]["门槛阈值"], failed["a6"]["评分值"]) == ("2", "3", "")
    a9 = next(r for r in _section(rows, "过期评分") if r["编码"] == "a9")
    assert a9["最近评分时间"] == "2024-10-02 02:30:00 +08:00"  # 18:30 UTC is the next day in Beijing
    assert a9["评分所用版本"].endswith("第 1 版")


def test_workbook_cells_are_numbers_with_their_format(report):
    wb = load_workbook(io.BytesIO(report_xlsx(report, language="en")))
    summary = {r[0].value: r[1] for r in wb["Summary"].iter_rows(min_row=2)}
    assert (summary["Partner HHI"].value, summary["Partner HHI"].number_format) == (3438, "#,##0")
    assert (summary["Mean score"].value, summary["Mean score"].number_format) == (57.7, "0.0")
    assert summary["Highly concentrated"].value == "Yes"
    ranking = wb["Top and bottom five"]
    header = [c.value for c in ranking[1]]
    total = ranking.cell(row=2, column=header.index("Total") + 1)
    assert isinstance(total.value, int | float) and total.value == 100 and total.number_format == "0.0"
    kpis = wb["KPI attainment"]
    header = [c.value for c in kpis[1]]
    cells = {r[header.index("KPI")].value: r[header.index("Attainment")] for r in kpis.iter_rows(min_row=2)}
    assert (cells["线上获客数"].value, cells["线上获客数"].number_format) == (0.5, "0%")
    assert cells["共享客户数"].value is None
    baseline = {r[header.index("KPI")].value: r[header.index("Baseline")] for r in kpis.iter_rows(min_row=2)}
    assert (baseline["获客成本"].value, baseline["获客成本"].number_format) == (320, "#,##0")


def test_the_page_the_mail_and_the_files_write_each_figure_the_same_way(report, portfolio, client_for):
    banks, users, _i = portfolio
    Membership.objects.filter(user=users[("A", "viewer")], bank=banks["A"]).update(receives_reports=True)
    expected = {"hhi": "3,438", "mean": "57.7", "share": "50%", "mover_or_total": "82.0"}

    page = report_render(report.payload, language="zh-hans")
    assert f"HHI {expected['hhi']}" in page and expected["mean"] in page
    assert f">{expected['share']}<" in page and f">{expected['mover_or_total']}<" in page
    assert "3438<" not in page and "50.0%" not in page

    mail.outbox.clear()
    report_generate(bank_id=banks["A"].pk, period_start=WEEK, force=True)
    body = mail.outbox[0].body
    assert f"HHI：{expected['hhi']}（" in body and f"：{expected['mean']}" in body

    admin_page = client_for(users[("A", "viewer")]).get(
        reverse("admin:scoring_report_change", args=[report.pk])
    )
    html = admin_page.content.decode()
    assert expected["hhi"] in html and f">{expected['share']}<" in html

    rows = _csv_cells(report_csv(report, language="zh-hans"))
    cells = {c for row in rows for c in row}
    assert {expected["hhi"], expected["mean"], expected["share"], expected["mover_or_total"]} <= cells


@pytest.mark.parametrize(("language", "title"), [("zh-hans", "# 概要"), ("en", "# Summary")])
def test_the_api_download_is_in_the_requests_language(report, portfolio, language, title):
    _banks, users, _i = portfolio
    token, _created = Token.objects.get_or_create(user=users[("A", "viewer")])
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(f"/api/v1/reports/{report.pk}/download/?format=csv")
    assert response.status_code == 200
    rows = _csv_cells(response.content)
    assert rows[0] == [title] and {"3,438"} <= {c for row in rows for c in row}
