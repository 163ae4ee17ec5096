"""CSV and XLSX downloads: the sections, the bilingual headers, the figures, and no formula injection."""

import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from scoring.reports.export import report_csv, report_filename, report_xlsx
from scoring.reports.services import report_generate

pytestmark = pytest.mark.django_db

SECTIONS = [
    "summary",
    "pillar_status",
    "tiers",
    "histogram",
    "top_bottom",
    "movers",
    "failed_gates",
    "stale_scores",
    "scenario_coverage",
    "pillar_coverage",
    "kpi_by_pillar",
    "kpis",
    "partners",
]


@pytest.fixture
def report(portfolio):
    banks, _users, i = portfolio
    i["a5"].title = '=HYPERLINK("http://evil.example","click")'
    i["a5"].save()
    return report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 13), deliver=False)


def _rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_xlsx_opens_with_one_sheet_per_section_and_two_header_rows(report):
    wb = load_workbook(io.BytesIO(report_xlsx(report)))
    assert wb.sheetnames == SECTIONS
    partners = _rows(wb["partners"])
    assert partners[1] == [
        "Partner",
        "Name (Chinese)",
        "Name (English)",
        "Participations in live initiatives",
        "Share (%)",
        "Leading partner",
    ]
    assert len(partners[0]) == 6 and all(partners[0])  # the Chinese header row (English until translated)
    assert partners[2:] == [
        ["tencent", "腾讯", "Tencent", 4, 50.0, True],
        ["alibaba", "阿里巴巴", "Alibaba", 2, 25.0, False],
        ["baidu", "百度", "Baidu", 1, 12.5, False],
        ["jd", "京东", "JD.com", 1, 12.5, False],
    ]
    summary = dict((r[0], r[1]) for r in _rows(wb["summary"])[2:])
    assert summary["hhi"] == 3437.5 and summary["concentration_flagged"] is True
    assert summary["mean_total"] == 57.7 and summary["failed_gates"] == 2 and summary["stale_scores"] == 3
    failed = _rows(wb["failed_gates"])
    assert [(r[1], r[6], r[11]) for r in failed[2:]] == [
        ("a6", "compliance_readiness", "unrated"),
        ("a3", "data_protection", "below threshold"),
    ]
    assert wb["kpis"].freeze_panes == "A3"


def test_user_text_never_becomes_a_formula(report):
    wb = load_workbook(io.BytesIO(report_xlsx(report)))
    cells = [
        c for row in wb["top_bottom"].iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)
    ]
    assert cells and all(c.data_type == "s" for c in cells)
    text = report_csv(report).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_csv_holds_every_section_one_after_another(report):
    raw = report_csv(report)
    assert raw.startswith("\ufeff".encode())  # Excel reads the Chinese text as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    markers = [r[0][2:] for r in rows if r and r[0].startswith("# ")]
    assert markers == SECTIONS
    start = rows.index(next(r for r in rows if r and r[0] == "# partners"))
    assert rows[start + 1][0].endswith("Partner")  # "中文 / English" where a translation exists
    assert rows[start + 2] == ["tencent", "腾讯", "Tencent", "4", "50.0", "True"]
    tiers = rows.index(next(r for r in rows if r and r[0] == "# tiers"))
    assert rows[tiers + 2 : tiers + 7] == [["A", "2"], ["B", "2"], ["C", "2"], ["D", "2"], ["unscored", "1"]]


def test_filename_names_kind_scope_and_week(report):
    assert report_filename(report, "xlsx") == "weekly_portfolio-bank-a-2024-11-11.xlsx"


def test_instants_are_written_in_beijing_time_as_the_admin_shows_them(report):
    as_of = datetime.datetime.fromisoformat(report.payload["as_of"])
    assert as_of.utcoffset() == datetime.timedelta(0)  # stored in UTC
    beijing = as_of.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    expected = f"{beijing:%Y-%m-%d %H:%M:%S} +08:00"
    text = report_csv(report).decode("utf-8-sig")
    summary = {row[0]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) > 1}
    assert summary["as_of"] == expected
    assert "+00:00" not in text
    ws = load_workbook(io.BytesIO(report_xlsx(report)))["summary"]
    assert expected in [row[1] for row in ws.iter_rows(values_only=True)]
