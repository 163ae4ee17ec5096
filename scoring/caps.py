"""Caps on rated criteria from facts (rubric version 2): pure maths, no Django, no I/O.

A rated criterion whose ``capped_by`` names a cap in ``CAPS`` cannot be rated above the cap the facts give: a
person's judgement may be lower than the facts allow, never higher. ``compliance_readiness`` is capped by
``compliance_caps``:

* **0** when a scenario type of the initiative is prohibited (P2P), naming the type and its rule;
* **0** when a partner lacks a licence its service needs, or the licence has expired, naming the partner and the
  licence (``partnerships.compliance.licence_problems``);
* **0** when a joint-lending limit concerning one of its partners is breached or unknown (a figure it needs is
  missing) — ``joint_lending_breaches``, read by ``partnerships.services.limits.joint_lending_breaches``; a limit
  that is only approaching its threshold caps nothing (scoring.services.compute stores it as a warning);
* otherwise the level of the regulatory checklist the initiative has reached: the highest level L such that
  every item of levels 1..L is met with evidence that has not expired, or not applicable (``checklist_level_of``).
  No checklist for the pillar, an unanswered item, a ``not met`` answer or expired evidence all count as not met
  ("unknown is never better than known"), so a checklist nobody has answered caps the rating at 0.

Every knock-out is listed (not only the first), so a reader sees all that must change. The loader that reads
these facts for many initiatives at once is ``scoring.services.caps.compliance_caps``; ``CAPS`` names it by its
dotted path so that this module stays free of Django.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CAPS",
    "CHECKLIST_LEVELS",
    "JOINT_LENDING_BLOCKING",
    "JOINT_LENDING_CRITERION",
    "MAX_LEVEL",
    "REASON_EXPIRED",
    "REASON_MISSING",
    "REASON_NOT_MET",
    "REASON_NO_EVIDENCE",
    "CapSpec",
    "ChecklistItemState",
    "capped_rating",
    "checklist_item_reason",
    "checklist_level_of",
    "compliance_cap",
    "joint_lending_reason",
]

CHECKLIST_LEVELS = (1, 2, 3, 4)
# The criterion a joint-lending limit caps under every rubric version: a legal limit does not depend on the rubric
# (scoring.services.compute applies it under version 1 too, where no criterion names a cap).
JOINT_LENDING_CRITERION = "compliance_readiness"
# Joint-lending limit statuses that cap (a breach, or a limit unknown for want of a figure); "warning" does not.
JOINT_LENDING_BLOCKING = frozenset({"breach", "unknown"})
MAX_LEVEL = CHECKLIST_LEVELS[-1]

# Why an item does not count (what the admin and the API show, and what a cap's reasons carry).
REASON_MISSING = "missing"  # nobody has answered it
REASON_NOT_MET = "not met"  # answered "not met"
REASON_EXPIRED = "expired"  # answered "met", but the evidence expired on or before the day asked about
REASON_NO_EVIDENCE = "no evidence"  # answered "met", but its evidence or expiry date is gone (a deleted file)

ANSWER_MET = "met"
ANSWER_NOT_MET = "not_met"
ANSWER_NOT_APPLICABLE = "na"


def checklist_item_reason(
    answer: str | None,
    *,
    has_evidence: bool,
    expires_on: datetime.date | None,
    as_of: datetime.date,
) -> str | None:
    """None when the item counts (met with live evidence, or not applicable), else why it does not.

    Evidence expiring on ``expires_on`` is valid up to the day before: on that day it has expired.
    """
    if answer is None:
        return REASON_MISSING
    if answer == ANSWER_NOT_APPLICABLE:
        return None
    if answer != ANSWER_MET:
        return REASON_NOT_MET
    if not has_evidence or expires_on is None:
        return REASON_NO_EVIDENCE
    if expires_on <= as_of:
        return REASON_EXPIRED
    return None


@dataclass(frozen=True)
class ChecklistItemState:
    """One item of a checklist as judged on a day: its key, its level, and why it does not count (or None)."""

    key: str
    level: int
    reason: str | None
    text_zh_hans: str = ""
    text_en: str = ""

    def as_reason(self) -> dict:
        return {
            "key": self.key,
            "level": self.level,
            "reason": self.reason,
            "text_zh_hans": self.text_zh_hans,
            "text_en": self.text_en,
        }


def checklist_level_of(items: Sequence[ChecklistItemState]) -> tuple[int, list[dict], list[dict]]:
    """(level, blocking, unmet) for one initiative's items of one checklist version.

    ``level`` is the highest L in 1..4 such that every item of levels 1..L counts, 0 when a level-1 item does
    not; ``blocking`` the items of level L + 1 that do not count (what stops the next level); ``unmet`` every
    item that does not count, by level (in the order given within a level). A checklist with no items for a level reaches no further than the level
    below it: an empty level is a broken checklist, never a free pass.
    """
    unmet = sorted((i for i in items if i.reason is not None), key=lambda i: i.level)  # stable: file order
    levels_present = {i.level for i in items}
    level = 0
    for candidate in CHECKLIST_LEVELS:
        if candidate not in levels_present or any(i.level == candidate for i in unmet):
            break
        level = candidate
    blocking = [i.as_reason() for i in unmet if i.level == level + 1]
    return level, blocking, [i.as_reason() for i in unmet]


def compliance_cap(
    *,
    prohibited_types: Iterable[Mapping],
    licence_problems: Iterable[Mapping],
    checklist: Mapping | None,
    joint_lending_breaches: Iterable[Mapping] = (),
) -> tuple[int, list[dict]]:
    """The highest compliance-readiness rating the facts allow (0–4), and the reasons for it.

    ``prohibited_types``: the initiative's scenario types whose status is prohibited, each
    {"scenario_type", "name_zh_hans", "name_en", "rule_zh_hans", "rule_en"}. ``licence_problems``: the rows of
    ``partnerships.compliance.licence_problems`` for the initiative, each {"partner", "partner_name", "service",
    "needs", "reason", "expired_on"}. ``checklist``: the initiative's entry of
    ``scoring.services.checklists.checklist_level`` ({"level", "checklist", "blocking", …}), or None when the
    pillar has no checklist. ``joint_lending_breaches``: the joint-lending limits breached or unknown for the
    initiative (rows of ``partnerships.services.limits.joint_lending_breaches``: the limit, its subject, value,
    threshold and figures); rows with another status (a warning) are ignored here.

    Reasons are dicts with a ``kind``: ``prohibited_type``, ``licence``, ``joint_lending``, ``no_checklist`` or
    ``checklist`` (the level reached, the checklist version and the items that stop the next level), in plain JSON
    values (dates as YYYY-MM-DD), so that a score's breakdown can store them. A cap of 4 has no reasons.
    """
    reasons: list[dict] = []
    for scenario_type in prohibited_types:
        reasons.append({"kind": "prohibited_type", **_plain(scenario_type)})
    for problem in licence_problems:
        reasons.append({"kind": "licence", **_plain(problem)})
    for breach in joint_lending_breaches:
        if breach.get("status", "breach") in JOINT_LENDING_BLOCKING:
            reasons.append(joint_lending_reason(breach))
    if reasons:
        return 0, reasons
    if checklist is None or checklist.get("checklist") is None:
        return 0, [{"kind": "no_checklist"}]
    level = int(checklist.get("level") or 0)
    level = max(0, min(MAX_LEVEL, level))
    if level >= MAX_LEVEL:
        return MAX_LEVEL, []
    return level, [
        {
            "kind": "checklist",
            "level": level,
            "checklist": checklist.get("checklist"),
            "blocking": list(checklist.get("blocking") or []),
        }
    ]


def joint_lending_reason(row: Mapping) -> dict:
    """A joint-lending limit row as a cap reason (the same dict wherever it is built, so it is listed once); the
    limit's own kind (partner_capital_share …) moves to ``limit_kind``, since ``kind`` names the reason's."""
    reason = {**_plain(row), "kind": "joint_lending"}
    if "kind" in row:
        reason["limit_kind"] = row["kind"]
    return reason


def _plain(mapping: Mapping) -> dict:
    """A reason's values as JSON has them: dates as ISO strings, sets and tuples as sorted lists."""

    def plain(value):
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, set | frozenset):
            return sorted(plain(v) for v in value)
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    return {str(k): plain(v) for k, v in mapping.items()}


def capped_rating(value: float | int | None, cap: int | None) -> float | int | None:
    """A rating under its cap: the lower of the two; an unrated criterion stays unrated, no cap leaves it as is."""
    if value is None or cap is None:
        return value
    return min(value, cap)


# -- the registry ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapSpec:
    """A named cap: ``loader`` is the dotted path of a function ``(initiative_ids, *, as_of) -> {id: (cap,
    reasons)}`` that reads the facts for many initiatives in a fixed number of queries (imported when called, so
    that this module imports no Django)."""

    name: str
    loader: str
    description: str

    def load(self) -> Callable[..., dict[int, tuple[int, list[dict]]]]:
        module, _dot, attribute = self.loader.rpartition(".")
        return getattr(importlib.import_module(module), attribute)

    def __call__(self, initiative_ids, *, as_of: datetime.date, **known) -> dict[int, tuple[int, list[dict]]]:
        """``known``: facts the caller has read already for the same initiatives and day (``joint_lending``)."""
        return self.load()(initiative_ids, as_of=as_of, **known)


# A criterion's ``capped_by`` names one of these (the rubric loader checks the name).
CAPS: dict[str, CapSpec] = {
    "compliance_caps": CapSpec(
        name="compliance_caps",
        loader="scoring.services.caps.compliance_caps",
        description=(
            "0 for a prohibited scenario type, a missing or expired partner licence or a joint-lending breach; "
            "otherwise the regulatory checklist level reached (0-4)."
        ),
    ),
}
