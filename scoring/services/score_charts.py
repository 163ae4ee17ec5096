"""An initiative's score history, read in one query, and its two charts (trend of the total, points by
criterion) in the reader's language; the geometry is the pure ``scoring.score_charts``.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from partnerships.models import Initiative

from ..models import Score
from ..score_charts import BarInput, TrendInput, criterion_bars, trend_chart
from .compute import version_bundle

# The trend shows at most this many of the latest scores (one query whatever the initiative's history).
HISTORY_LIMIT = 60


def initiative_score_history(initiative: Initiative, *, limit: int = HISTORY_LIMIT) -> list[Score]:
    """The initiative's latest scores, newest first, each with its rubric version and rubric: one query."""
    return list(
        Score.objects.filter(initiative=initiative)
        .select_related("rubric_version__rubric")
        .order_by("-computed_at", "-id")[:limit]
    )


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _when(score: Score) -> str:
    return timezone.localtime(score.computed_at).strftime("%Y-%m-%d %H:%M")


def score_charts(history: list[Score], breakdown: dict | None, *, limit: int = HISTORY_LIMIT) -> dict | None:
    """The charts of an initiative whose scores are ``history`` (newest first) and whose current score's
    breakdown is ``breakdown`` (``selectors.score_breakdown``). No query for a published rubric version."""
    if not history:
        return None
    current = history[0]
    version = current.rubric_version
    chronological = list(reversed(history))
    trend_rows = [
        {
            "when": _when(s),
            "total": s.total,
            "tier": s.tier,
            "version": str(s.rubric_version),
            "title": _("%(when)s · %(total)s (tier %(tier)s) · %(version)s")
            % {"when": _when(s), "total": s.total, "tier": s.tier, "version": s.rubric_version},
        }
        for s in chronological
    ]
    trend = trend_chart(
        [
            TrendInput(s.computed_at.timestamp(), float(s.total), s.tier, row["title"], row["when"][:10])
            for s, row in zip(chronological, trend_rows, strict=True)
        ],
        [("A", version.tier_a), ("B", version.tier_b), ("C", version.tier_c)],
    )

    rows = (breakdown or {}).get("rows") or []
    scales = {
        spec.key: (float(spec.scale_min), float(spec.scale_max)) for spec in version_bundle(version).specs
    }
    weight_sum = sum(float(r["weight"]) for r in rows) or 1.0
    bar_rows = []
    bars = []
    for r in rows:
        lo, hi = scales.get(r["key"], (0.0, 4.0))
        max_points = 100.0 * float(r["weight"]) / weight_sum
        points = float(r["contribution"])
        if r["rating"] is None:
            title = _("%(name)s: not rated") % {"name": r["name"]}
        else:
            title = _("%(name)s: %(points)s of %(max)s points (rated %(rating)s of %(top)s)") % {
                "name": r["name"],
                "points": _num(points),
                "max": _num(max_points),
                "rating": _num(r["rating"]),
                "top": _num(hi),
            }
        if r["is_gate"]:
            title += " · " + _("gate ≥ %(t)s") % {"t": _num(r["gate_threshold"])}
            if r["gate_passed"] is False:
                title += " · " + _("gate failed")
        bars.append(
            BarInput(
                label=r["name"],
                points=points,
                max_points=max_points,
                rating_text="—" if r["rating"] is None else f"{_num(r['rating'])}/{_num(hi)}",
                computed=r["source"] == "computed",
                gate_at=(float(r["gate_threshold"]) - lo) / (hi - lo) if r["is_gate"] and hi > lo else None,
                gate_passed=r["gate_passed"],
                title=title,
            )
        )
        bar_rows.append(
            {
                "key": r["key"],
                "name": r["name"],
                "rating": bars[-1].rating_text,
                "points": _num(points),
                "max_points": _num(max_points),
                "is_gate": r["is_gate"],
                "gate_threshold": r["gate_threshold"],
                "gate_passed": r["gate_passed"],
            }
        )
    return {
        "trend": trend,
        "trend_rows": trend_rows,
        "truncated": len(history) >= limit,
        "limit": limit,
        "bars": criterion_bars(bars),
        "bar_rows": bar_rows,
    }
