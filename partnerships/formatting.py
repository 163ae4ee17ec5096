"""One format per kind of figure, for every door: the admin, the report page, the e-mail summary and the exports.

Text (pages, mails, CSV cells) comes from ``fmt_*``; a workbook cell from ``xlsx_cell``, which keeps the number a
number (so Excel can still sum it) and gives it the Excel number format that shows the same text:

    kind     what                                   text                 Excel
    id       row ids                                12345                0
    total    score totals, points of a total        72.5 · 82.0          0.0
    delta    change of a total                      +3.5 · -2.0          +0.0;-0.0;0.0
    rating   ratings, weights, thresholds           3 · 2.5 · 2.83       0 / 0.0 / 0.00 (as many as shown)
    percent  shares, attainment, confidence         12.5% · 50%          0% / 0.0%
    hhi      Herfindahl–Hirschman index             3,438                #,##0
    count    counts                                 1,234                #,##0
    figure   KPI values, reference figures          1,671.93 · 12        #,##0 / #,##0.0 / #,##0.00
    metric   a figure with its unit (PartnerMetric) 1,671.93亿元 · 43%   the figure's format and the unit

Every function takes None (or "") and returns "" — an empty cell, never "None". Numbers are rounded half up
from their decimal text (2.675 → 2.68, 2,450.5 → 2,451), not by binary floats. Thousands are grouped as the active
language groups them (``config/formats``: a comma every three digits in Chinese as in English). Yes/no and
choices read in the active language; instants in the site's time zone (Asia/Shanghai).
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import pgettext, pgettext_lazy

from .choices import MetricUnit

# --- numbers ---------------------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _round(number: Decimal, places: int) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _places(number: Decimal, most: int) -> int:
    """Decimals a figure shows "as entered, at most ``most``": 3 → 0, 2.50 → 1, 2.8333 → 2."""
    exponent = _round(number, most).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _grouped(number: Decimal, places: int) -> str:
    text = formats.number_format(_round(number, places), places, use_l10n=True, force_grouping=True)
    return text if _round(number, places) else text.lstrip("-")  # never "-0.0"


def fmt_total(value) -> str:
    """A score total or points of a total: one decimal (72.5, 82.0)."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, 1)


def fmt_delta(value) -> str:
    """The change of a total: signed, one decimal (+3.5, -2.0, 0.0)."""
    number = _decimal(value)
    if number is None:
        return ""
    text = _grouped(number, 1)
    return "+" + text if _round(number, 1) > 0 else text


def fmt_rating(value) -> str:
    """A rating, weight or threshold as entered, at most two decimals (3, 2.5, 2.83)."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, _places(number, 2))


def fmt_percent(value, *, fraction: bool = False, signed: bool = False) -> str:
    """A percentage, at most one decimal, with % (12.5%, 50%); ``fraction``: the value is 0–1 (0.5 → 50%)."""
    number = _decimal(value)
    if number is None:
        return ""
    if fraction:
        number *= 100
    text = _grouped(number, _places(number, 1)) + "%"
    return "+" + text if signed and _round(number, 1) > 0 else text


def fmt_hhi(value) -> str:
    """The Herfindahl–Hirschman index: an integer with the thousands separator (3,438)."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, 0)


def fmt_count(value) -> str:
    """A count (1,234)."""
    return fmt_hhi(value)


def fmt_figure(value) -> str:
    """A measured figure (KPI value, reference figure) as entered, at most two decimals, grouped (1,671.93)."""
    number = _decimal(value)
    return "" if number is None else _grouped(number, _places(number, 2))


# --- figures with a unit (PartnerMetric.unit, partnerships.choices.MetricUnit) ------------------------------

# The unit as it follows a figure; in Chinese the unit itself (亿元), in English its short form.
UNIT_LABELS = {
    MetricUnit.YI_YUAN: pgettext_lazy("unit after a figure", "RMB 100m"),
    MetricUnit.YI_USD: pgettext_lazy("unit after a figure", "USD 100m"),
    MetricUnit.USD: pgettext_lazy("unit after a figure", "USD"),
    MetricUnit.WAN: pgettext_lazy("unit after a figure", "×10k"),
    MetricUnit.WAN_UNITS: pgettext_lazy("unit after a figure", "10k units"),
    MetricUnit.WAN_VEHICLES: pgettext_lazy("unit after a figure", "10k vehicles"),
    MetricUnit.PERSONS: pgettext_lazy("unit after a figure", "persons"),
    MetricUnit.PERCENT_POINT: pgettext_lazy("unit after a figure", "pp"),
}


def unit_label(unit: str) -> str:
    """The unit as written after a figure in the active language; a unit outside MetricUnit as stored."""
    return str(UNIT_LABELS.get(unit, unit or ""))


def fmt_metric(value, unit: str) -> str:
    """A figure with its unit: 1,671.93亿元 / 1,671.93 RMB 100m; % as a percentage; a rank as 第3名 / No. 3."""
    if _decimal(value) is None:
        return ""
    if unit == MetricUnit.PERCENT:
        return fmt_percent(value)
    if unit == MetricUnit.RANK:
        return pgettext("rank of a company", "No. %(n)s") % {"n": fmt_figure(value)}
    if not unit:
        return fmt_figure(value)
    return pgettext("a figure and its unit", "%(figure)s %(unit)s") % {
        "figure": fmt_figure(value),
        "unit": unit_label(unit),
    }


# --- yes/no, choices, dates ------------------------------------------------------------------------------

YES = pgettext_lazy("boolean value", "Yes")
NO = pgettext_lazy("boolean value", "No")


def fmt_bool(value) -> str:
    """是 / 否 (Yes / No); None is an empty cell."""
    if value is None or value == "":
        return ""
    return str(YES if value else NO)


def fmt_choice(choices: type[models.Choices], value) -> str:
    """A choice's label in the active language; an empty value is an empty cell, an unknown one stays as stored."""
    if value is None or value == "":
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _instant(value) -> datetime.datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return None


def fmt_instant(value) -> str:
    """An instant (aware datetime or ISO 8601 text) in the site's time zone: 2024-11-18 08:00:00 +08:00."""
    local = _instant(value)
    if local is None:
        return "" if value in (None, "") else str(value)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def fmt_date(value) -> str:
    """A date as 2024-11-18; an instant's date is its date in the site's time zone."""
    if value in (None, ""):
        return ""
    local = _instant(value)
    if local is not None:
        return f"{local:%Y-%m-%d}"
    if isinstance(value, datetime.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


# --- one entry point per kind ------------------------------------------------------------------------------


def fmt_id(value) -> str:
    """A row id: digits only, never grouped (12345)."""
    number = _decimal(value)
    return "" if number is None else str(int(number))


FORMATTERS = {
    "id": fmt_id,
    "total": fmt_total,
    "delta": fmt_delta,
    "rating": fmt_rating,
    "percent": fmt_percent,
    "fraction": lambda value: fmt_percent(value, fraction=True),  # a 0–1 share shown as a percentage
    "hhi": fmt_hhi,
    "count": fmt_count,
    "figure": fmt_figure,
    "bool": fmt_bool,
    "date": fmt_date,
    "instant": fmt_instant,
}


def fmt(kind: str, value, *, unit: str = "") -> str:
    """``value`` as text in the format of ``kind`` (a key of FORMATTERS, "metric" or "text")."""
    if kind == "metric":
        return fmt_metric(value, unit)
    formatter = FORMATTERS.get(kind)
    if formatter is not None:
        return formatter(value)
    return "" if value is None else str(value)


# --- workbook cells ------------------------------------------------------------------------------------------

NUMBER_KINDS = frozenset({"id", "total", "delta", "rating", "percent", "fraction", "hhi", "count", "figure"})
_DECIMALS = {0: "0", 1: "0.0", 2: "0.00"}
_GROUPED = {0: "#,##0", 1: "#,##0.0", 2: "#,##0.00"}


def _excel_text(text: str) -> str:
    """Literal text inside an Excel number format ("" for none)."""
    text = text.replace('"', "")
    return f'"{text}"' if text else ""


def xlsx_cell(kind: str, value, *, unit: str = ""):
    """(cell value, Excel number format or None) for a workbook: numbers stay numbers, shown as ``fmt`` shows them.

    Excel's own separators follow the reader's system (a comma on zh-CN as on en-US). Text kinds (yes/no, dates,
    instants, plain text) are returned as ``fmt`` writes them, with no number format.
    """
    number = _decimal(value)
    if kind == "metric" and number is not None:
        if unit == MetricUnit.PERCENT:
            return xlsx_cell("percent", value)
        places = _places(number, 2)
        if unit == MetricUnit.RANK:
            prefix, _sep, suffix = (pgettext("rank of a company", "No. %(n)s")).partition("%(n)s")
            return int(_round(number, 0)), _excel_text(prefix) + "0" + _excel_text(suffix)
        if not unit:
            return float(_round(number, places)), _GROUPED[places]
        text = pgettext("a figure and its unit", "%(figure)s %(unit)s") % {
            "figure": "",
            "unit": unit_label(unit),
        }
        return float(_round(number, places)), _GROUPED[places] + _excel_text(text)
    if number is None or kind not in NUMBER_KINDS:
        text = fmt(kind, value, unit=unit)
        return (text if text != "" else None), None
    if kind == "id":
        return int(number), "0"
    if kind == "total":
        return float(_round(number, 1)), "0.0"
    if kind == "delta":
        return float(_round(number, 1)), "+0.0;-0.0;0.0"
    if kind == "rating":
        places = _places(number, 2)
        return float(_round(number, places)), _DECIMALS[places]
    if kind in ("percent", "fraction"):
        percent = number * 100 if kind == "fraction" else number
        places = _places(percent, 1)
        return float(_round(percent, places) / 100), _DECIMALS[places] + "%"
    if kind in ("hhi", "count"):
        return int(_round(number, 0)), "#,##0"
    places = _places(number, 2)  # figure
    return float(_round(number, places)), _GROUPED[places]
