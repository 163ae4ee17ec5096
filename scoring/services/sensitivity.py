"""What would change the tier, for a stored score or a preview, in the reader's language.

The search is the pure ``scoring.sensitivity`` on exactly the engine input the score was computed from: for a
stored score, the inputs it stores (rebuilt as ``selectors.score_breakdown`` rebuilds its rows) against its own
rubric version. Nothing is written, and a score whose inputs no longer give its stored total and tier (an
older engine) gets no answer rather than a wrong one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from ..models import RubricVersion, Score
from ..sensitivity import (
    CriterionSensitivity,
    RatingChange,
    TierSensitivity,
    WeightChange,
    rubric_sensitivity,
)
from .compute import VersionBundle, version_bundle

# The panel names weight moves within this factor of the current weight (half to double); the API gives all.
PANEL_WEIGHT_FACTOR = 2.0


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _names(bundle: VersionBundle, key: str, fallback: str) -> tuple[str, str, str]:
    zh, en = bundle.names.get(key, (fallback, fallback))
    return (en if _english() else zh), zh, en


def tier_changes(bundle: VersionBundle, values: Mapping[str, float | None]) -> list[dict]:
    """One row per criterion (display order) for the API: its smallest rating changes up and down with the
    tier they give, and its weight moves; null where no such change moves the tier."""
    result = rubric_sensitivity(bundle.compiled, values)
    rows = []
    for c in result.criteria:
        name, zh, en = _names(bundle, c.key, c.name)
        rows.append({**c.to_dict(), "name": name, "name_zh_hans": zh, "name_en": en})
    return rows


def score_engine_values(score: Score, bundle: VersionBundle) -> dict[str, float] | None:
    """The ratings a stored score was computed from (criterion key → value), or None if they are not stored."""
    stored = score.breakdown or {}
    if isinstance(stored, dict) and stored.get("format") == 2:
        values, _notes = bundle.compiled.parse_inputs(stored["inputs"])
        return values
    rows = stored.get("rows") if isinstance(stored, dict) else stored  # older formats: the rows themselves
    if not isinstance(rows, list):
        return None
    return {
        row["key"]: float(row["rating"])
        for row in rows
        if isinstance(row, dict) and row.get("rating") is not None and row.get("key") in bundle.names
    }


def score_sensitivity(score: Score) -> tuple[TierSensitivity, VersionBundle] | None:
    """The search for a stored score, or None when its stored inputs do not reproduce its total and tier."""
    version = score.rubric_version if isinstance(score.rubric_version, RubricVersion) else None
    bundle = version_bundle(
        version or RubricVersion.objects.select_related("rubric").get(pk=score.rubric_version_id)
    )
    values = score_engine_values(score, bundle)
    if values is None:
        return None
    try:
        result = rubric_sensitivity(bundle.compiled, values)
    except ValueError:
        return None
    if result.tier != score.tier or not math.isclose(result.total, float(score.total), abs_tol=1e-9):
        return None
    return result, bundle


# -- the panel's sentences --------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _weight(x: float, *, rising: bool) -> str:
    # Three decimals, as weights are stored, rounded away from the current weight so the shown weight flips
    # the tier too; a weight that would round to 0 keeps its significant digits.
    rounded = (math.ceil if rising else math.floor)(x * 1000) / 1000
    return _num(rounded) if rounded > 0 else f"{x:.2g}"


def _percent(r: float) -> str:
    pct = abs(r) * 100
    text = f"{pct:.0f}" if pct >= 10 else f"{pct:.1f}".rstrip("0").rstrip(".")
    return ("+" if r > 0 else "−") + text + "%"


def _rating_sentence(row: CriterionSensitivity, change: RatingChange, gate_passed: bool) -> str:
    values = {"tier": change.tier, "value": _num(change.value)}
    if row.source == "computed":
        if row.rating is None:
            text = _("if its data gave %(value)s → tier %(tier)s") % values
        else:
            text = _("if its data gave %(value)s (now %(current)s) → tier %(tier)s") % {
                **values,
                "current": _num(row.rating),
            }
    elif row.rating is None:
        text = _("rated %(value)s → tier %(tier)s") % values
    elif float(change.delta).is_integer():
        n = abs(int(change.delta))
        if change.delta > 0:
            text = ngettext("+%(n)s level → tier %(tier)s", "+%(n)s levels → tier %(tier)s", n) % {
                "n": n,
                "tier": change.tier,
            }
        else:
            text = ngettext("−%(n)s level → tier %(tier)s", "−%(n)s levels → tier %(tier)s", n) % {
                "n": n,
                "tier": change.tier,
            }
    else:
        text = _("rated %(value)s instead of %(current)s → tier %(tier)s") % {
            **values,
            "current": _num(row.rating),
        }
    if row.is_gate and change.gate_passed != gate_passed:
        if change.gate_passed:
            return _("%(change)s (passes its gate)") % {"change": text}
        return _("%(change)s (fails its gate)") % {"change": text}
    return text


def _weight_sentence(row: CriterionSensitivity, move: WeightChange) -> str:
    rising = move.weight > row.weight
    return _("weight %(old)s → %(new)s (%(change)s) → tier %(tier)s") % {
        "old": _num(row.weight),
        "new": _weight(move.weight, rising=rising),
        "change": _percent(move.relative_change),
        "tier": move.tier,
    }


def score_tier_changes(score: Score) -> dict | None:
    """For the score panel: the criteria where one change moves the tier, each with its sentences.

    ``{"rows": [{key, name, source, changes: [sentence, …], text}], "tier": …}``; rows only for criteria
    where a rating change, or a weight move within half to double the weight, moves the tier. None when the
    score's stored inputs cannot be searched (see ``score_sensitivity``).
    """
    found = score_sensitivity(score)
    if found is None:
        return None
    result, bundle = found
    separator = "; " if _english() else "；"
    rows = []
    for row in result.criteria:
        changes = [
            _rating_sentence(row, change, result.gate_passed) for change in (row.up, row.down) if change
        ]
        for move in (row.weight_up, row.weight_down):
            if (
                move is not None
                and 1 / PANEL_WEIGHT_FACTOR <= move.weight / row.weight <= PANEL_WEIGHT_FACTOR
            ):
                changes.append(_weight_sentence(row, move))
        if changes:
            name, _zh, _en = _names(bundle, row.key, row.name)
            rows.append(
                {
                    "key": row.key,
                    "name": name,
                    "source": row.source,
                    "changes": changes,
                    "text": separator.join(changes),
                }
            )
    return {"rows": rows, "tier": result.tier}
