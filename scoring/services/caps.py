"""Loaders for the caps of ``scoring.caps``: the facts for many initiatives at once, then the pure maths.

``compliance_caps`` reads, for a list of initiatives, their prohibited scenario types (one query), their partners'
licence problems (``partnerships.compliance.licence_problems``, two queries), their regulatory checklist level
(``scoring.services.checklists.checklist_level``, four queries) and the joint-lending limits breached or unknown
for their partners (``partnerships.services.limits.joint_lending_breaches``: two queries when their banks record
no exposure, five otherwise) — at most twelve queries whatever the number of initiatives — and gives each its cap
on compliance readiness with the reasons.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from partnerships.choices import ScenarioStatus
from partnerships.compliance import licence_problems
from partnerships.models import Initiative
from partnerships.services.limits import joint_lending_breaches

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
    initiative_ids: Iterable[int], *, as_of: datetime.date, joint_lending: dict[int, list[dict]] | None = None
) -> dict[int, tuple[int, list[dict]]]:
    """{initiative id: (cap, reasons)} for the compliance-readiness rating on the day ``as_of``; see
    ``scoring.caps.compliance_cap``. Ids that are no initiative are left out. ``joint_lending``: the
    initiatives' ``joint_lending_breaches`` when the caller has read them already (scoring reads them once for
    every rubric version); read here otherwise."""
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    if not ids:
        return {}
    levels = checklist_level(ids, as_of=as_of)  # also tells which ids are initiatives
    known = [i for i in ids if i in levels]
    if not known:
        return {}
    prohibited = prohibited_scenario_types(known)
    licences = licence_problems(known, as_of=as_of)
    if joint_lending is None:
        joint_lending = joint_lending_breaches(known, as_of=as_of)
    return {
        initiative_id: compliance_cap(
            prohibited_types=prohibited.get(initiative_id, []),
            licence_problems=licences.get(initiative_id, []),
            checklist=levels[initiative_id],
            joint_lending_breaches=joint_lending.get(initiative_id, ()),
        )
        for initiative_id in known
    }
