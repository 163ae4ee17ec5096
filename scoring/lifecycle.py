"""Caps from the partnership lifecycle (issue 14, ``docs/lifecycle.md``): pure maths, no Django, no I/O.

Applied under every rubric version (a contract or an incident does not depend on the rubric) by
``scoring.services.compute`` and the preview, and shown in the score's breakdown with their reasons:

**Exit readiness** (criterion ``exit_readiness``) is capped by the contract and exit register — RUBRIC.md
version 2's levels, unknown counting as no:

* **0** no contract register entry (``no_contract``), or one without an exit plan (``no_exit_plan``);
* **1** an exit plan never tested (``exit_plan_untested``);
* **2** tested more than two years (730 days) before the scoring date (``exit_plan_test_old``);
* **3** tested within two years, but data return and destruction terms not recorded as ``yes``
  (``no_data_return_terms``) or no alternative provider named (``no_alternative_provider``);
* **4** (no cap) tested within two years, data return and destruction terms, a named alternative provider.

A rating above the cap counts as the cap (the rater's own under ``rated``); the cap and its reasons are recorded
even when the criterion is unrated, so the breakdown says what is missing. A cap of 4 changes nothing: an
initiative whose register is complete keeps the very inputs (and score) it had.

**Tier**: a high or critical monitoring event recorded after the initiative's last approved assessment (any
event, when none was ever approved) marks it "re-assessment required" and caps its tier at **C** (``TIER_CAP``):
an A or B becomes C, C and D stay. Closing the event does not lift the cap; a manager's approval of a new
assessment does (the next score no longer counts the event). The events are listed under ``tier_cap`` in the
stored score, which is part of its inputs hash only when a cap applies.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

EXIT_CRITERION = "exit_readiness"
EXIT_TEST_FRESH_DAYS = 730  # "tested within two years" (RUBRIC.md version 2)
TIER_CAP = "C"
TIER_ORDER = ("A", "B", "C", "D")  # best first
MAX_LEVEL = 4


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime.date) else value


def exit_readiness_cap(contract: Mapping | None, *, as_of: datetime.date) -> tuple[int, list[dict]]:
    """The highest exit-readiness rating the register allows (0–4) and the reasons; see the module docstring.

    ``contract``: the initiative's register entry as a mapping (``exit_plan``, ``exit_plan_last_tested_on``,
    ``data_return_and_destruction``, ``alternative_provider``), or None when it has none."""
    if contract is None:
        return 0, [{"kind": "no_contract"}]
    if not (contract.get("exit_plan") or "").strip():
        return 0, [{"kind": "no_exit_plan"}]
    tested = contract.get("exit_plan_last_tested_on")
    if tested is None:
        return 1, [{"kind": "exit_plan_untested"}]
    age = (as_of - tested).days
    if age > EXIT_TEST_FRESH_DAYS:
        return 2, [{"kind": "exit_plan_test_old", "tested_on": _iso(tested), "days": age}]
    reasons = []
    if contract.get("data_return_and_destruction") != "yes":  # "unknown" counts as "no"
        reasons.append({"kind": "no_data_return_terms"})
    if not (contract.get("alternative_provider") or "").strip():
        reasons.append({"kind": "no_alternative_provider"})
    return (3, reasons) if reasons else (MAX_LEVEL, [])


def reassessment_events(
    events: Iterable[Mapping], *, last_approved_at: datetime.datetime | None
) -> list[dict]:
    """The severe events that require re-assessment: those recorded after the last approval (all, without one).

    ``events``: the initiative's high and critical events, each with ``id`` (for the order), ``kind``, ``severity``,
    ``occurred_on``, ``status`` and ``created_at``; returned as plain JSON, earliest first."""
    found = [e for e in events if last_approved_at is None or e["created_at"] > last_approved_at]
    found.sort(key=lambda e: (e["occurred_on"], e["id"]))
    return [
        {
            "kind": "monitoring_event",  # named by its facts, not its database id (an archive moves ids)
            "event_kind": e["kind"],
            "severity": e["severity"],
            "occurred_on": _iso(e["occurred_on"]),
            "status": e["status"],
        }
        for e in found
    ]


def capped_tier(tier: str, cap: str | None) -> str:
    """The worse of a tier and its cap (None: no cap)."""
    if cap is None or tier not in TIER_ORDER or cap not in TIER_ORDER:
        return tier
    return tier if TIER_ORDER.index(tier) >= TIER_ORDER.index(cap) else cap
