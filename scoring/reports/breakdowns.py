"""Score breakdowns of chosen initiatives as CSV / XLSX: one row per criterion of each initiative's current score.

In the reader's language like the other exports: criterion names, sources, yes/no, and the reasons of computed
criteria, which are described from the figures their formula used (``score_breakdown`` → ``scoring.describe``),
never the English rationale stored with the score. A rated criterion's rationale is what its rater typed.
An initiative with no score has one row that says so. Figures follow ``partnerships.formatting``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from partnerships.models import Initiative

from ..selectors import score_breakdown
from .render import rubric_version_label
from .sheets import Column, Table

BREAKDOWN_MAX_INITIATIVES = 500  # an export is built in the request: ~30 criteria a score, a few ms each

SOURCES = {"computed": _("Computed from data"), "rated": _("Rated by a person")}


def _version_label(version) -> str:
    rubric = version.rubric
    return rubric_version_label(
        {"rubric": {"name_zh_hans": rubric.name_zh_hans, "name_en": rubric.name_en, "number": version.number}}
    )


def breakdown_table(initiatives: QuerySet) -> Table:
    """The breakdowns of the initiatives' current scores, by bank and initiative code, in the active language."""
    table = Table(
        "score_breakdowns",
        _("Score breakdowns"),
        [
            Column("initiative_id", _("Initiative id"), "id"),
            Column("code", _("Code")),
            Column("title", _("Title")),
            Column("bank", _("Bank")),
            Column("pillar", _("Pillar")),
            Column("total", capfirst(_("total")), "total"),
            Column("tier", capfirst(_("tier"))),
            Column("provisional", capfirst(_("provisional")), "bool"),
            Column("gate_passed", capfirst(_("gates passed")), "bool"),
            Column("confidence", capfirst(_("confidence")), "fraction"),
            Column("rubric_version", capfirst(_("rubric version"))),
            Column("computed_at", capfirst(_("computed at")), "instant"),
            Column("criterion", capfirst(_("criterion"))),
            Column("weight", capfirst(_("weight")), "rating"),
            Column("rating", capfirst(_("rating")), "rating"),
            Column("normalised", capfirst(_("normalised")), "fraction"),
            Column("points", capfirst(_("points")), "total"),
            Column("source", capfirst(_("source"))),
            Column("gate_threshold", _("Gate threshold"), "rating"),
            Column("reason", capfirst(_("rationale or data"))),
        ],
    )
    rows = initiatives.select_related(
        "bank", "pillar", "current_score__score__rubric_version__rubric"
    ).order_by("bank__code", "code", "pk")
    for initiative in rows:
        head = [
            initiative.pk,
            initiative.code,
            initiative.title,
            initiative.bank.code,
            initiative.pillar.name,
        ]
        current = _current(initiative)
        if current is None:
            table.rows.append([*head, *[None] * 14, str(_("Not scored yet"))])
            continue
        score = current.score
        about = [
            score.total,
            score.tier,
            score.provisional,
            score.gate_passed,
            score.confidence,
            _version_label(score.rubric_version),
            score.computed_at,
        ]
        for row in score_breakdown(score)["rows"]:
            table.rows.append(
                [
                    *head,
                    *about,
                    row["name"],
                    row["weight"],
                    row["rating"],
                    row["normalised"],
                    row["contribution"],
                    str(SOURCES.get(row["source"], row["source"])),
                    row["gate_threshold"] if row["is_gate"] else None,
                    row["rationale"],
                ]
            )
    return table


def _current(initiative: Initiative):
    try:
        return initiative.current_score
    except Initiative.current_score.RelatedObjectDoesNotExist:
        return None


def breakdown_filename(extension: str) -> str:
    return f"score-breakdowns-{timezone.localdate():%Y-%m-%d}.{extension}"
