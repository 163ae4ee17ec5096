"""Reads of the scoring app (selectors): scores with their breakdowns, current scores, jobs for a user."""

from __future__ import annotations

from django.utils.translation import get_language

from .choices import AssessmentStatus
from .describe import describe_computed
from .models import RubricVersion, Score
from .services.compute import version_bundle


def score_breakdown(score: Score) -> dict:
    """The full breakdown of a stored score: one row per criterion, rebuilt from the stored inputs.

    A Score stores its inputs (ratings, rationales, computed data) and its results (total, tier, gates,
    confidence); the pure engine turns the inputs back into the rows — key, name, weight, rating,
    normalised value, contribution in points, source, rationale or data, gate — exactly as when it was scored.
    """
    stored = score.breakdown or {}
    if stored.get("format") != 2:  # rows stored as they were (older format)
        return {"rows": stored.get("rows", []), "assessment_status": stored.get("assessment_status")}
    version = score.rubric_version if isinstance(score.rubric_version, RubricVersion) else None
    bundle = version_bundle(
        version or RubricVersion.objects.select_related("rubric").get(pk=score.rubric_version_id)
    )
    values, notes = bundle.compiled.parse_inputs(stored["inputs"])
    result = bundle.compiled.score(values, notes)
    english = (get_language() or "").startswith("en")
    rows = []
    for row in result.breakdown:
        data = row.to_dict()
        zh, en = bundle.names.get(row.key, (row.name, row.name))
        data.update(name=en if english else zh, name_zh_hans=zh, name_en=en)
        if row.key in bundle.computed:
            data["rationale"] = describe_computed(bundle.computed[row.key], row.data, row.rationale)
        rows.append(data)
    status = stored.get("assessment_status")
    return {
        "rows": rows,
        "assessment_status": status,
        "assessment_status_label": AssessmentStatus(status).label
        if status in AssessmentStatus.values
        else "",
        "engine_version": stored.get("engine_version"),
    }
