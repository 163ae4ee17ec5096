"""Tables to CSV and XLSX files in one language: the writers shared by the report and the score-breakdown exports.

A table is a titled list of columns, each with a kind of figure (``partnerships.formatting``), and rows of raw
values. The CSV holds the text the page shows (UTF-8 with a byte-order mark, so that Excel reads the Chinese); the
XLSX holds numbers as numbers with the number format that shows that same text, so a column can still be summed.

Text typed by users (titles, KPI names) is neutralised where a spreadsheet would read it as a formula: a leading
apostrophe in the CSV, a cell stored as text in the XLSX. Figures are never text, so "-2.0" stays a number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from partnerships.formatting import fmt, xlsx_cell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Column:
    key: str
    label: object  # a lazy translation, read in the writer's language
    kind: str = "text"  # a partnerships.formatting kind; "text" for words


@dataclass
class Cell:
    """A value whose kind is not its column's (the summary's value column holds counts, dates and the HHI)."""

    value: object
    kind: str
    unit: str = ""


@dataclass
class Table:
    key: str
    title: object
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    sheet: object = None  # a shorter title for the sheet tab (Excel allows 31 characters)


def _typed(value, column: Column) -> tuple[object, str, str]:
    if isinstance(value, Cell):
        return value.value, value.kind, value.unit
    return value, column.kind, ""


def _escape(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def tables_csv(tables: list[Table]) -> bytes:
    """Every table, one after another (a "# title" line, the header row, the rows, a blank line between)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(tables):
        if i:
            writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow([str(c.label) for c in table.columns])
        for row in table.rows:
            cells = []
            for value, column in zip(row, table.columns, strict=True):
                value, kind, unit = _typed(value, column)
                text = fmt(kind, value, unit=unit)
                cells.append(_escape(text) if kind == "text" else text)
            writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # a CJK character is two columns wide


def sheet_name(title: str, taken: set[str]) -> str:
    name = SHEET_NAME_FORBIDDEN.sub(" ", title).strip()[:31] or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def tables_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table, named by its title; one header row, frozen; figures as numbers with their format."""
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for table in tables:
        ws = wb.create_sheet(title=sheet_name(str(table.sheet or table.title), taken))
        widths = []
        for col, column in enumerate(table.columns, start=1):
            cell = ws.cell(row=1, column=col, value=str(column.label))
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            widths.append(_width(str(column.label)))
        for r, row in enumerate(table.rows, start=2):
            for c, (value, column) in enumerate(zip(row, table.columns, strict=True), start=1):
                value, kind, unit = _typed(value, column)
                shown, number_format = xlsx_cell(kind, value, unit=unit)
                cell = ws.cell(row=r, column=c, value=shown)
                if number_format:
                    cell.number_format = number_format
                if isinstance(shown, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    widths[c - 1] = max(widths[c - 1], min(_width(shown), 60))
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = min(max(width, 8) + 2, 48)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
