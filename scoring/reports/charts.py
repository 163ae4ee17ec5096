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
class Polyline:
    points: str  # "x,y x,y …"
    stroke: str
    title: str = ""


@dataclass
class Chart:
    key: str
    title: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)
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


def line_chart(
    key: str,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float | None], str]],
    *,
    value_format=lambda v: f"{v:g}",
    guides: list[tuple[float, str]] = (),
    min_peak: float = 0,
    width: int = 560,
    height: int = 240,
    note: str = "",
) -> Chart:
    """Lines over ``labels`` (months): ``series`` is [(name, values, colour)]; a None value breaks its line.

    ``guides`` are horizontal lines [(value, label)] — a limit or its early-warning level — drawn dashed and
    included in the scale, so a line approaching a limit is seen against it. Each point keeps a tooltip."""
    chart = Chart(key, title, width, height, legend=[(c, n) for n, _v, c in series], note=note)
    left, right, top, bottom = 56, 16, 14, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vs, _c in series for v in vs if v is not None]
    peak = max([*values, *(g for g, _l in guides), min_peak], default=0) or 1
    peak *= 1.08
    base = top + plot_h
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return _r(left + i * step)

    def y(v: float) -> float:
        return _r(base - plot_h * v / peak)

    chart.lines.append(Line(left, base, width - right, base))
    chart.lines.append(Line(left, top, left, base))
    chart.texts.append(Text(left - 6, base + 4, value_format(0), "end", "label"))
    chart.texts.append(Text(left - 6, top + 8, value_format(peak / 1.08), "end", "label"))
    for value, label in guides:
        chart.lines.append(Line(left, y(value), width - right, y(value), "guide"))
        chart.texts.append(Text(width - right, _r(y(value) - 4), label, "end", "label"))
    every = max(1, (len(labels) + 5) // 6)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            chart.texts.append(Text(x(i), base + 16, label, "middle", "label"))
    for name, vs, colour in series:
        run: list[str] = []
        for i, v in enumerate(vs):
            if v is None:
                if len(run) > 1:
                    chart.polylines.append(Polyline(" ".join(run), colour, name))
                run = []
                continue
            run.append(f"{x(i)},{y(v)}")
            chart.rects.append(
                Rect(_r(x(i) - 2.5), _r(y(v) - 2.5), 5, 5, colour, f"{name} · {labels[i]}: {value_format(v)}")
            )
        if len(run) > 1:
            chart.polylines.append(Polyline(" ".join(run), colour, name))
    return chart
