"""Geometry of an initiative's two score charts — the trend of its total and its points by criterion — which
``scoring/admin/_score_charts.html`` draws as inline SVG.

Pure: numbers and already translated strings in, coordinates out (no Django, no I/O), like the report's charts
(scoring.reports.charts, whose label fitting this shares). Each chart has a fixed viewBox and is drawn at
``width: 100%``, so it scales to its column instead of overflowing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .reports.charts import TIER_COLOURS, fit

TREND_WIDTH, TREND_HEIGHT = 640, 240
BARS_WIDTH = 640
RATED_COLOUR = "#1565c0"
COMPUTED_COLOUR = "#00838f"
FAILED_COLOUR = "#c62828"


def _r(x: float) -> float:
    return round(x, 1)


# -- the trend of the total -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendInput:
    """One score: when (any increasing number, e.g. a POSIX timestamp), its total (0–100) and tier, the
    tooltip and the date as shown on the axis."""

    when: float
    total: float
    tier: str
    title: str
    date: str


@dataclass(frozen=True)
class TrendPoint:
    x: float
    y: float
    colour: str
    title: str


@dataclass(frozen=True)
class Guide:
    y: float
    label: str

    @property
    def text_y(self) -> float:
        return _r(self.y + 4)


@dataclass
class TrendChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: list[TrendPoint] = field(default_factory=list)
    line: str = ""  # the polyline's points, "x,y x,y …"
    guides: list[Guide] = field(default_factory=list)  # tier thresholds
    y_ticks: list[Guide] = field(default_factory=list)
    x_labels: list[tuple[float, str, str]] = field(default_factory=list)  # (x, text, anchor)

    @property
    def tick_x(self) -> float:  # right edge of the y axis' labels
        return self.left - 6

    @property
    def guide_label_x(self) -> float:
        return self.right + 6

    @property
    def x_label_y(self) -> float:
        return self.bottom + 18


def trend_chart(scores: Sequence[TrendInput], thresholds: Sequence[tuple[str, float]]) -> TrendChart:
    """Time on x, the total on a fixed 0–100 y axis, a dashed guide per tier threshold, one point per score
    (joined in time order). Scores at one instant all sit in the middle."""
    left, right, top, bottom = 34.0, TREND_WIDTH - 52.0, 12.0, TREND_HEIGHT - 30.0
    chart = TrendChart(TREND_WIDTH, TREND_HEIGHT, left, right, top, bottom)

    def y_of(total: float) -> float:
        return _r(bottom - (bottom - top) * max(0.0, min(100.0, total)) / 100.0)

    for value in (0, 50, 100):
        chart.y_ticks.append(Guide(y_of(value), str(value)))
    for label, threshold in thresholds:
        chart.guides.append(Guide(y_of(float(threshold)), f"{label} ≥ {float(threshold):g}"))
    ordered = sorted(scores, key=lambda s: s.when)
    if not ordered:
        return chart
    first, last = ordered[0].when, ordered[-1].when
    span = last - first
    inset = 10.0  # keeps the first and last points off the axis

    def x_of(when: float) -> float:
        if span <= 0:
            return _r((left + right) / 2)
        return _r(left + inset + (right - left - 2 * inset) * (when - first) / span)

    for s in ordered:
        chart.points.append(
            TrendPoint(x_of(s.when), y_of(s.total), TIER_COLOURS.get(s.tier, "#546e7a"), s.title)
        )
    chart.line = " ".join(f"{p.x},{p.y}" for p in chart.points)
    if span > 0:
        chart.x_labels = [(left, ordered[0].date, "start"), (right, ordered[-1].date, "end")]
    else:
        chart.x_labels = [(_r((left + right) / 2), ordered[0].date, "middle")]
    return chart


# -- points by criterion ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarInput:
    """One criterion of a score: its points and the most it could add (its weight's share of 100); its rating
    on its scale (None: unrated); a gate's threshold as a share of the scale (None: not a gate)."""

    label: str
    points: float
    max_points: float
    rating_text: str
    computed: bool = False
    gate_at: float | None = None
    gate_passed: bool | None = None
    title: str = ""


@dataclass(frozen=True)
class Bar:
    y: float
    height: float
    text_y: float  # baseline of the label and the value
    label: str
    track_w: float
    fill_w: float
    colour: str
    value_x: float
    value_text: str
    gate_x: float | None
    gate_failed: bool
    title: str

    @property
    def gate_y1(self) -> float:
        return _r(self.y - 3)

    @property
    def gate_y2(self) -> float:
        return _r(self.y + self.height + 3)


@dataclass
class BarsChart:
    width: int
    height: int
    x0: float
    row_height: float
    bars: list[Bar] = field(default_factory=list)
    rated_colour: str = RATED_COLOUR
    computed_colour: str = COMPUTED_COLOUR
    failed_colour: str = FAILED_COLOUR

    @property
    def label_x(self) -> float:
        return self.x0 - 6


def criterion_bars(
    rows: Sequence[BarInput], *, label_width: float = 190.0, row_height: float = 24.0
) -> BarsChart:
    """One horizontal bar per criterion: a track as long as the most it can add (so the tracks compare the
    weights), filled up to the points it adds; a gate's threshold is a tick across its track, red when failed.
    """
    top, value_room = 4.0, 92.0
    height = int(top * 2 + row_height * max(len(rows), 1))
    chart = BarsChart(BARS_WIDTH, height, label_width, row_height)
    plot_w = BARS_WIDTH - label_width - value_room
    peak = max((r.max_points for r in rows), default=0.0) or 1.0
    for i, r in enumerate(rows):
        y = top + i * row_height
        track = plot_w * r.max_points / peak
        filled = track * (max(0.0, min(r.points, r.max_points)) / r.max_points if r.max_points else 0.0)
        failed = r.gate_passed is False
        colour = FAILED_COLOUR if failed else COMPUTED_COLOUR if r.computed else RATED_COLOUR
        chart.bars.append(
            Bar(
                y=_r(y + 5),
                height=_r(row_height - 10),
                text_y=_r(y + row_height / 2 + 4),
                label=fit(r.label, label_width - 10),
                track_w=_r(track),
                fill_w=_r(filled),
                colour=colour,
                value_x=_r(label_width + track + 6),
                value_text=f"{r.points:.1f} / {r.max_points:.1f}",
                gate_x=None if r.gate_at is None else _r(label_width + track * r.gate_at),
                gate_failed=failed,
                title=r.title or r.label,
            )
        )
    return chart
