"""Loaders for the caps of ``scoring.caps``: the facts for many initiatives at once, then the pure maths.

``compliance_caps`` reads, for a list of initiatives, their prohibited scenario types (one query), their partners'
licence problems (``partnerships.compliance.licence_problems``, two queries) and their regulatory checklist level
(``scoring.services.checklists.checklist_level``, four queries) — seven queries whatever the number of
initiatives — and gives each its cap on compliance readiness with the reasons.

Joint-lending limits (issue 13) are not read yet: ``scoring.caps.compliance_cap`` takes them as
``joint_lending_breaches`` and this loader passes none, so no initiative is capped for a breach until issue 13
supplies the facts here.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from partnerships.choices import ScenarioStatus
from partnerships.compliance import licence_problems
from partnerships.models import Initiative

from ..caps import compliance_cap
from .checklists import checklist_level


def prohibited_scenario_types(initiative_ids: list[int]) -> dict[int, list[dict]]:
    """{initiative id: [{key, name_zh_hans, name_en, rule_zh_hans, rule_en}]} of its prohibited types (one query)."""
    through = Initiative.scenario_types.through
    rows = (
        through.objects.filter(
            initiative_id__any_of=initiative_ids, scenariotype__status=ScenarioStatus.PROHIBITED
        )
        .order_by("initiative_id", "scenariotype__position", "scenariotype__key")
        .values_list(
            "initiative_id",
            "scenariotype__key",
            "scenariotype__name_zh_hans",
            "scenariotype__name_en",
            "scenariotype__status_rule_zh_hans",
            "scenariotype__status_rule_en",
        )
    )
    out: dict[int, list[dict]] = defaultdict(list)
    for initiative_id, key, name_zh, name_en, rule_zh, rule_en in rows:
        out[initiative_id].append(
            {
                "scenario_type": key,
                "name_zh_hans": name_zh,
                "name_en": name_en,
                "rule_zh_hans": rule_zh,
                "rule_en": rule_en,
            }
        )
    return out


def compliance_caps(
    initiative_ids: Iterable[int], *, as_of: datetime.date
) -> dict[int, tuple[int, list[dict]]]:
    """{initiative id: (cap, reasons)} for the compliance-readiness rating on the day ``as_of``; see
    ``scoring.caps.compliance_cap``. Ids that are no initiative are left out. Seven queries."""
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    if not ids:
        return {}
    levels = checklist_level(ids, as_of=as_of)  # also tells which ids are initiatives
    known = [i for i in ids if i in levels]
    if not known:
        return {}
    prohibited = prohibited_scenario_types(known)
    licences = licence_problems(known, as_of=as_of)
    return {
        initiative_id: compliance_cap(
            prohibited_types=prohibited.get(initiative_id, []),
            licence_problems=licences.get(initiative_id, []),
            checklist=levels[initiative_id],
            # joint_lending_breaches: issue 13 (joint-lending limits) passes the breaches here.
        )
        for initiative_id in known
    }
