"""CSV and XLSX downloads: the sections in the reader's language, the figures, and no formula injection."""

import csv
import datetime
import io
import re

import pytest
from openpyxl import load_workbook

from scoring.reports.export import report_csv, report_filename, report_tables, report_xlsx
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
    "monitoring_events",  # issue 14: open monitoring events and overdue remediations
    "scenario_coverage",
    "pillar_coverage",
    "kpi_by_pillar",
    "kpis",
    "partners",
]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def report(portfolio):
    banks, _users, i = portfolio
    i["a5"].title = '=HYPERLINK("http://evil.example","click")'
    i["a5"].save()
    return report_generate(bank_id=banks["A"].pk, period_start=datetime.date(2024, 11, 13), deliver=False)


def _rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _sections(raw: bytes) -> dict[str, list[list[str]]]:
    """The CSV's sections by their "# title" line: header row first, then the rows."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
        if row and row[0].startswith("# "):
            current = sections.setdefault(row[0][2:], [])
        elif row and current is not None:
            current.append(row)
    return sections


def test_sections_keep_their_order_and_keys(report):
    assert [t.key for t in report_tables(report.payload)] == SECTIONS


def test_xlsx_opens_with_one_sheet_per_section_in_the_readers_language(report):
    wb = load_workbook(io.BytesIO(report_xlsx(report, language="zh-hans")))
    assert len(wb.sheetnames) == len(SECTIONS) and all(CJK.search(name) for name in wb.sheetnames)
    partners = _rows(wb["合作方集中度"])
    assert partners[0] == ["合作方", "参与已上线合作项目数", "份额", "主要合作方"]
    assert partners[1:] == [
        ["腾讯", 4, 0.5, "是"],
        ["阿里巴巴", 2, 0.25, "否"],
        ["百度", 1, 0.125, "否"],
        ["京东", 1, 0.125, "否"],
    ]
    # Numbers stay numbers, shown as the page shows them: 50%, 12.5%.
    assert [c.number_format for c in wb["合作方集中度"][2]] == ["General", "#,##0", "0%", "General"]
    assert wb["合作方集中度"]["C4"].number_format == "0.0%"
    summary = {r[0]: r[1] for r in _rows(wb["概要"])[1:]}
    assert summary["合作方 HHI"] == 3438 and summary["高度集中"] == "是"
    # Stale: every initiative of bank A's portfolio — none has an approved assessment, so each is due for
    # re-assessment since it was recorded (docs/lifecycle.md; a flat 30 days listed 3 before issue 14).
    assert summary["平均分"] == 57.7 and summary["未过门槛"] == 2 and summary["过期评分"] == 9
    failed = _rows(wb["未过门槛"])
    assert failed[0][7:9] == ["评分值", "门槛阈值"]
    # Unrated: an empty cell.
    assert [(r[1], r[7], r[8]) for r in failed[1:]] == [("a6", None, 2), ("a3", 2, 3)]
    assert not any(r[9] in ("unrated", "below threshold") for r in failed[1:])  # reasons as words, not keys
    assert wb["KPI 达成率"].freeze_panes == "A2"


def test_user_text_never_becomes_a_formula(report):
    wb = load_workbook(io.BytesIO(report_xlsx(report, language="zh-hans")))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" for c in cells)
    text = report_csv(report, language="zh-hans").decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_csv_holds_every_section_one_after_another(report):
    raw = report_csv(report, language="en")
    assert raw.startswith("\ufeff".encode())  # Excel reads the Chinese text as UTF-8
    sections = _sections(raw)
    assert list(sections) == [
        "Summary",
        "Initiatives by pillar and status",
        "Tier distribution",
        "Score distribution",
        "Top and bottom five",
        "Movers since the previous report",
        "Failed gates",
        "Stale scores",
        "Open monitoring events",
        "Scenario coverage",
        "Pillar coverage",
        "KPI attainment by pillar",
        "KPI attainment",
        "Partner concentration",
    ]
    partners = sections["Partner concentration"]
    assert partners[0] == ["Partner", "Participations in live initiatives", "Share", "Leading partner"]
    assert partners[1] == ["Tencent", "4", "50%", "Yes"]
    assert sections["Tier distribution"][1:] == [
        ["A", "2"],
        ["B", "2"],
        ["C", "2"],
        ["D", "2"],
        ["Unscored", "1"],
    ]


def test_filename_names_kind_scope_and_week(report):
    assert report_filename(report, "xlsx") == "weekly_portfolio-bank-a-2024-11-11.xlsx"


def test_instants_are_written_in_beijing_time_as_the_admin_shows_them(report):
    as_of = datetime.datetime.fromisoformat(report.payload["as_of"])
    assert as_of.utcoffset() == datetime.timedelta(0)  # stored in UTC
    beijing = as_of.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    expected = f"{beijing:%Y-%m-%d %H:%M:%S} +08:00"
    for language, label in (("zh-hans", "数据截至"), ("en", "Figures as of")):
        raw = report_csv(report, language=language)
        summary = {row[0]: row[1] for row in _sections(raw)[next(iter(_sections(raw)))][1:]}
        assert summary[label] == expected
        assert "+00:00" not in raw.decode("utf-8-sig")
        ws = load_workbook(io.BytesIO(report_xlsx(report, language=language))).worksheets[0]
        assert expected in [row[1] for row in ws.iter_rows(values_only=True)]
    # Every instant in the lists is in Beijing time too.
    stale = _sections(report_csv(report, language="en"))["Stale scores"]
    last_scored = stale[0].index("Last scored")
    assert all(row[last_scored] == "" or row[last_scored].endswith("+08:00") for row in stale[1:])
