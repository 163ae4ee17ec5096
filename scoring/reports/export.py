"""CSV and XLSX downloads of a report, both produced from its payload (so they agree with the page).

Both hold the same sections (``report_tables``), each a table with a stable key: in the XLSX one sheet per
section named by its key, headers in two rows (Chinese, then English); in the CSV the sections follow one
another, each opened by a ``# key`` line and one bilingual header row, with a blank line between. The CSV is
UTF-8 with a byte-order mark so that Excel shows the Chinese text correctly.

Text typed by users (titles, KPI names) is neutralised where a spreadsheet would read it as a formula.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from partnerships.choices import InitiativeStatus
from scoring.models import Report

from .build import STALE_REASONS

LANGS = ("zh-hans", "en")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    key: str
    title: object  # a lazy translation
    columns: list[tuple[str, object]]  # (key, lazy label)
    rows: list[list] = field(default_factory=list)


def _in(language: str, text) -> str:
    with translation.override(language):
        return str(text)


def bilingual(text) -> tuple[str, str]:
    return _in("zh-hans", text), _in("en", text)


def _status_columns() -> list[tuple[str, object]]:
    return [(s, label) for s, label in InitiativeStatus.choices]


def _items(rows: list[dict], keys: list[str], extra: Callable[[dict], list] | None = None) -> list[list]:
    return [[r.get(k) for k in keys] + (extra(r) if extra else []) for r in rows]


INITIATIVE_COLUMNS = [
    ("initiative_id", _("Initiative id")),
    ("code", _("Code")),
    ("title", _("Title")),
    ("bank", _("Bank")),
    ("pillar", _("Pillar")),
]


def report_tables(payload: dict) -> list[Table]:
    """The report's sections as tables, in page order."""
    scores = payload["scores"]
    conc = payload["concentration"]
    stale = payload["stale"]
    scope = payload["scope"]
    tables: list[Table] = []

    summary = Table("summary", _("Summary"), [("item", _("Item")), ("value", _("Value"))])
    summary.rows = [
        ["scope", "*" if scope.get("all_banks") else scope.get("code", "")],
        ["period_start", payload["period"]["start"]],
        ["period_end", payload["period"]["end"]],
        ["as_of", payload.get("as_of", "")],
        ["initiatives", scores["initiatives"]],
        ["scored", scores["scored"]],
        ["unscored", scores["unscored"]],
        ["mean_total", scores["mean_total"]],
        ["provisional", scores["provisional"]],
        ["failed_gates", payload["failed_gates"]["count"]],
        ["stale_scores", stale["count"]],
        *[[f"stale_{reason}", stale["by_reason"].get(reason, 0)] for reason in STALE_REASONS],
        ["stale_after_days", stale["days"]],
        ["partner_participations", conc["participations"]],
        ["hhi", conc["hhi"]],
        ["concentration", conc["level"]],
        ["concentration_flagged", conc["flagged"]],
        ["leading_partners", ", ".join(conc["leaders"])],
        ["schema_version", payload["schema_version"]],
    ]
    tables.append(summary)

    statuses = payload["pillar_status"]["statuses"]
    names = {p["key"]: p for p in payload["pillars"]}
    pillar_status = Table(
        "pillar_status",
        _("Initiatives by pillar and status"),
        [("pillar", _("Pillar")), ("name_zh_hans", _("Name (Chinese)")), ("name_en", _("Name (English)"))]
        + [c for c in _status_columns() if c[0] in statuses]
        + [("total", pgettext_lazy("sum of counts", "Total"))],
    )
    for row in payload["pillar_status"]["rows"]:
        p = names.get(row["pillar"], {})
        pillar_status.rows.append(
            [row["pillar"], p.get("name_zh_hans", ""), p.get("name_en", "")]
            + [row["counts"][s] for s in statuses]
            + [row["total"]]
        )
    tables.append(pillar_status)

    tiers = Table("tiers", _("Tier distribution"), [("tier", _("Tier")), ("count", _("Initiatives"))])
    tiers.rows = [[t, n] for t, n in scores["tiers"].items()] + [["unscored", scores["unscored"]]]
    tables.append(tiers)

    histogram = Table(
        "histogram",
        _("Score distribution"),
        [("from", _("From")), ("to", _("To")), ("count", _("Initiatives"))],
    )
    histogram.rows = [[b["from"], b["to"], b["count"]] for b in scores["histogram"]]
    tables.append(histogram)

    ranking = Table(
        "top_bottom",
        _("Top and bottom five"),
        [
            ("list", _("List")),
            ("rank", _("Rank")),
            *INITIATIVE_COLUMNS,
            ("total", pgettext_lazy("score", "Total")),
            ("tier", _("Tier")),
            ("provisional", _("Provisional")),
        ],
    )
    keys = [k for k, _label in INITIATIVE_COLUMNS] + ["total", "tier", "provisional"]
    for which in ("top", "bottom"):
        for rank, row in enumerate(payload["ranking"][which], start=1):
            ranking.rows.append([which, rank] + [row.get(k) for k in keys])
    tables.append(ranking)

    movers = Table(
        "movers",
        _("Movers since the previous report"),
        [
            *INITIATIVE_COLUMNS,
            ("previous", _("Previous")),
            ("current", _("Current")),
            ("delta", pgettext_lazy("movement of a score", "Change")),
        ],
    )
    movers.rows = _items(
        payload["movers"]["items"], [k for k, _label in INITIATIVE_COLUMNS] + ["previous", "current", "delta"]
    )
    tables.append(movers)

    failed = Table(
        "failed_gates",
        _("Failed gates"),
        [
            *INITIATIVE_COLUMNS,
            ("total", pgettext_lazy("score", "Total")),
            ("gate", _("Gate")),
            ("gate_zh_hans", _("Gate (Chinese)")),
            ("gate_en", _("Gate (English)")),
            ("rating", _("Rating")),
            ("threshold", _("Threshold")),
            ("reason", _("Reason")),
        ],
    )
    for item in payload["failed_gates"]["items"]:
        base = [item.get(k) for k, _label in INITIATIVE_COLUMNS] + [item["total"]]
        for gate in item["gates"] or [{}]:
            failed.rows.append(
                [
                    *base,
                    gate.get("key", ""),
                    gate.get("name_zh_hans", ""),
                    gate.get("name_en", ""),
                    gate.get("rating"),
                    gate.get("threshold"),
                    gate.get("reason", ""),
                ]
            )
    tables.append(failed)

    stale_table = Table(
        "stale_scores",
        _("Stale scores"),
        [
            *INITIATIVE_COLUMNS,
            ("status", _("Status")),
            ("reason", _("Reason")),
            ("rubric_version", _("Scored under")),
            ("computed_at", _("Last scored")),
        ],
    )
    stale_table.rows = _items(
        stale["items"],
        [k for k, _label in INITIATIVE_COLUMNS] + ["status", "reason", "rubric_version", "computed_at"],
    )
    tables.append(stale_table)

    coverage = Table(
        "scenario_coverage",
        _("Scenario coverage"),
        [
            ("scenario_type", _("Scenario type")),
            ("name_zh_hans", _("Name (Chinese)")),
            ("name_en", _("Name (English)")),
            ("pillar", _("Pillar")),
            ("group", _("Group")),
            ("live", _("Live initiatives")),
            ("gap", _("Gap")),
        ],
    )
    coverage.rows = [
        [t["key"], t["name_zh_hans"], t["name_en"], t["pillar"], t["group"], t["live"], not t["live"]]
        for t in payload["coverage"]["scenario_types"]
    ]
    tables.append(coverage)

    pillar_coverage = Table(
        "pillar_coverage",
        _("Pillar coverage"),
        [
            ("pillar", _("Pillar")),
            ("live_initiatives", _("Live initiatives")),
            ("scenario_types", _("Scenario types")),
            ("covered", _("Scenario types with a live initiative")),
        ],
    )
    pillar_coverage.rows = _items(
        payload["coverage"]["pillars"], ["pillar", "live_initiatives", "scenario_types", "covered"]
    )
    tables.append(pillar_coverage)

    kpi_pillars = Table(
        "kpi_by_pillar",
        _("KPI attainment by pillar"),
        [
            ("pillar", _("Pillar")),
            ("kpis", _("KPIs")),
            ("counted", _("Counted")),
            ("mean_attainment", _("Mean attainment")),
        ],
    )
    kpi_pillars.rows = _items(payload["kpis"]["by_pillar"], ["pillar", "kpis", "counted", "mean_attainment"])
    tables.append(kpi_pillars)

    kpis = Table(
        "kpis",
        _("KPI attainment"),
        [
            ("kpi_id", _("KPI id")),
            ("name", _("KPI")),
            ("unit", _("Unit")),
            ("cost_driver", _("Cost driver")),
            *INITIATIVE_COLUMNS,
            ("baseline", _("Baseline")),
            ("target", _("Target")),
            ("latest", _("Latest")),
            ("latest_on", _("Observed on")),
            ("attainment", _("Attainment")),
        ],
    )
    kpis.rows = _items(
        payload["kpis"]["items"],
        ["kpi_id", "name", "unit", "cost_driver"]
        + [k for k, _label in INITIATIVE_COLUMNS]
        + ["baseline", "target", "latest", "latest_on", "attainment"],
    )
    tables.append(kpis)

    partners = Table(
        "partners",
        _("Partner concentration"),
        [
            ("partner", _("Partner")),
            ("name_zh_hans", _("Name (Chinese)")),
            ("name_en", _("Name (English)")),
            ("participations", _("Participations in live initiatives")),
            ("share", _("Share (%)")),
            ("leader", _("Leading partner")),
        ],
    )
    partners.rows = [
        [
            p["key"],
            p["name_zh_hans"],
            p["name_en"],
            p["participations"],
            p["share"],
            p["key"] in conc["leaders"],
        ]
        for p in conc["partners"]
    ]
    tables.append(partners)
    return tables


_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def local_time(value):
    """An instant stored in the payload (ISO 8601, UTC) in the site's time zone (Asia/Shanghai), as the admin shows
    it: ``2024-11-18 08:00:00 +08:00``. Anything else is returned as it is."""
    if isinstance(value, str) and _INSTANT.match(value):
        instant = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        local = timezone.localtime(instant)
        offset = local.strftime("%z")
        return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"
    return value


def _safe(value):
    """Text that a spreadsheet would take for a formula gets a leading apostrophe (OWASP CSV injection); an instant
    is written in the site's time zone."""
    value = local_time(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _header(label) -> str:
    zh, en = bilingual(label)
    return en if zh == en else f"{zh} / {en}"


def report_csv(report: Report) -> bytes:
    """Every section, one after another, in one UTF-8 (with BOM) CSV file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(report_tables(report.payload)):
        if i:
            writer.writerow([])
        zh, en = bilingual(table.title)
        writer.writerow([f"# {table.key}", zh, en])
        writer.writerow([_header(label) for _key, label in table.columns])
        for row in table.rows:
            writer.writerow(["" if v is None else _safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")


def report_xlsx(report: Report) -> bytes:
    """One sheet per section (named by its key), Chinese header row then English header row."""
    wb = Workbook()
    wb.remove(wb.active)
    for table in report_tables(report.payload):
        ws = wb.create_sheet(title=table.key[:31])
        for col, (_key, label) in enumerate(table.columns, start=1):
            zh, en = bilingual(label)
            for row_index, text in ((1, zh), (2, en)):
                cell = ws.cell(row=row_index, column=col, value=text)
                cell.font = HEADER_FONT
                cell.fill = HEADER_FILL
            ws.column_dimensions[get_column_letter(col)].width = min(max(len(en), len(zh) * 2, 8) + 2, 48)
        for r, row in enumerate(table.rows, start=3):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                value = local_time(value)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
        ws.freeze_panes = "A3"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def report_filename(report: Report, extension: str) -> str:
    scope = report.bank.code if report.bank_id else "all-banks"
    return f"{report.kind}-{scope}-{report.period_start:%Y-%m-%d}.{extension}"
