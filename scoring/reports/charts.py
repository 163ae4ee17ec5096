"""Chart geometry for the report page; ``scoring/reports/_chart.svg`` draws it as inline SVG.

Drawn by hand rather than with pygal (tried: pygal 3.1.3) because pygal always embeds a ``<script>`` element
with its configuration in every chart, and we store this HTML and show it inside the admin: we want no
script in it at all. The four charts here are plain bars, a few dozen lines of arithmetic; drawing them
ourselves also keeps the output deterministic, lets the labels (partner and pillar names typed by users) go
through Django's autoescaping, takes the page's CJK fonts, and prints as vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FONT = 12
CJK_CHAR = 12.5  # width of a CJK glyph at 12 px; Latin glyphs take about half
LATIN_CHAR = 6.8

PALETTE = ["#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f", "#c62828", "#5d4037", "#546e7a"]
TIER_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#c62828"}
STATUS_COLOURS = {
    "idea": "#b0bec5",
    "proposed": "#90caf9",
    "pilot": "#42a5f5",
    "live": "#2e7d32",
    "suspended": "#f9a825",
    "retired": "#757575",
}
MUTED = "#9e9e9e"
ALERT = "#c62828"


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str = ""


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    cls: str = ""


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str = "axis"


@dataclass
class Chart:
    key: str
    title: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label), drawn in HTML
    note: str = ""


def text_width(text: str) -> float:
    return sum(CJK_CHAR if ord(ch) > 0x2E80 else LATIN_CHAR for ch in text)


def fit(text: str, width: float) -> str:
    """Shorten a label to ``width`` pixels with an ellipsis (the full text stays in the bar's tooltip)."""
    if text_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…") > width:
            break
        out += ch
    return out + "…"


def _r(x: float) -> float:
    return round(x, 1)


def column_chart(
    key: str,
    title: str,
    bars: list[tuple[str, float, str]],
    *,
    value_format=lambda v: f"{v:g}",
    width: int = 520,
    height: int = 240,
    note: str = "",
) -> Chart:
    """Vertical bars: ``bars`` is [(label, value, colour)]; values are written above the bars."""
    chart = Chart(key, title, width, height, note=note)
    left, right, top, bottom = 12, 12, 22, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _l, v, _c in bars), default=0) or 1
    slot = plot_w / max(len(bars), 1)
    bar_w = slot * 0.7
    base = top + plot_h
    chart.lines.append(Line(left, base, width - right, base))
    for i, (label, value, colour) in enumerate(bars):
        h = plot_h * value / peak
        x = left + i * slot + (slot - bar_w) / 2
        chart.rects.append(
            Rect(_r(x), _r(base - h), _r(bar_w), _r(h), colour, f"{label}: {value_format(value)}")
        )
        cx = _r(x + bar_w / 2)
        chart.texts.append(Text(cx, _r(base - h - 5), value_format(value), "middle", "value"))
        chart.texts.append(Text(cx, base + 16, fit(label, slot - 2), "middle", "label"))
    return chart


def bar_chart(
    key: str,
    title: str,
    bars: list[tuple[str, float, str, str]],
    *,
    max_value: float | None = None,
    width: int = 560,
    label_width: int = 180,
    row_height: int = 26,
    note: str = "",
) -> Chart:
    """Horizontal bars: ``bars`` is [(label, value, colour, value label)], one row each."""
    top, bottom, right = 8, 8, 64
    height = top + bottom + row_height * max(len(bars), 1)
    chart = Chart(key, title, width, height, note=note)
    plot_w = width - label_width - right
    peak = max_value or max((v for _l, v, _c, _t in bars), default=0) or 1
    x0 = label_width
    chart.lines.append(Line(x0, top, x0, height - bottom))
    for i, (label, value, colour, value_label) in enumerate(bars):
        y = top + i * row_height
        w = plot_w * value / peak
        chart.rects.append(Rect(x0, y + 4, _r(w), row_height - 8, colour, f"{label}: {value_label}"))
        chart.texts.append(Text(x0 - 6, y + row_height / 2 + 4, fit(label, label_width - 10), "end", "label"))
        chart.texts.append(Text(_r(x0 + w + 5), y + row_height / 2 + 4, value_label, "start", "value"))
    return chart


def stacked_bar_chart(
    key: str,
    title: str,
    rows: list[tuple[str, list[tuple[float, str, str]]]],
    *,
    legend: list[tuple[str, str]],
    value_format=lambda v: f"{v:g}",
    width: int = 560,
    label_width: int = 180,
    row_height: int = 30,
    note: str = "",
) -> Chart:
    """Horizontal stacked bars: ``rows`` is [(label, [(value, colour, segment label)])]; totals at the end."""
    top, bottom, right = 8, 8, 48
    height = top + bottom + row_height * max(len(rows), 1)
    chart = Chart(key, title, width, height, legend=legend, note=note)
    plot_w = width - label_width - right
    peak = max((sum(v for v, _c, _s in segs) for _l, segs in rows), default=0) or 1
    x0 = label_width
    chart.lines.append(Line(x0, top, x0, height - bottom))
    for i, (label, segments) in enumerate(rows):
        y = top + i * row_height
        x = float(x0)
        for value, colour, seg_label in segments:
            if not value:
                continue
            w = plot_w * value / peak
            chart.rects.append(
                Rect(
                    _r(x),
                    y + 5,
                    _r(w),
                    row_height - 10,
                    colour,
                    f"{label} · {seg_label}: {value_format(value)}",
                )
            )
            x += w
        total = sum(v for v, _c, _s in segments)
        chart.texts.append(Text(x0 - 6, y + row_height / 2 + 4, fit(label, label_width - 10), "end", "label"))
        chart.texts.append(Text(_r(x + 5), y + row_height / 2 + 4, value_format(total), "start", "value"))
    return chart
