"""Loaders for the lifecycle caps of ``scoring.lifecycle``: the contract register and the monitoring events of many
initiatives at once (three queries whatever their number), then the pure maths."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from partnerships.choices import SEVERE
from partnerships.models import MonitoringEvent, PartnershipContract

from ..choices import AssessmentStatus
from ..lifecycle import TIER_CAP, exit_readiness_cap, reassessment_events
from ..models import Assessment

CONTRACT_FIELDS = (
    "exit_plan",
    "exit_plan_last_tested_on",
    "data_return_and_destruction",
    "alternative_provider",
)


def exit_readiness_caps(
    initiative_ids: Iterable[int], *, as_of: datetime.date
) -> dict[int, tuple[int, list]]:
    """{initiative id: (cap, reasons)} for exit readiness from the contract register (one query)."""
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    contracts = {
        row["initiative_id"]: row
        for row in PartnershipContract.objects.filter(initiative_id__in=ids).values(
            "initiative_id", *CONTRACT_FIELDS
        )
    }
    return {i: exit_readiness_cap(contracts.get(i), as_of=as_of) for i in ids}


def tier_caps(initiative_ids: Iterable[int]) -> dict[int, tuple[str, list[dict]]]:
    """{initiative id: (tier cap, reasons)} for the initiatives a severe monitoring event requires to be
    re-assessed (two queries); the others are left out."""
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    events: dict[int, list[dict]] = defaultdict(list)
    for row in MonitoringEvent.objects.filter(initiative_id__in=ids, severity__in=sorted(SEVERE)).values(
        "id", "initiative_id", "kind", "severity", "occurred_on", "status", "created_at"
    ):
        events[row["initiative_id"]].append(row)
    if not events:
        return {}
    approved: dict[int, datetime.datetime] = {}
    for initiative_id, approved_at in Assessment.objects.filter(
        initiative_id__in=list(events), status=AssessmentStatus.APPROVED, approved_at__isnull=False
    ).values_list("initiative_id", "approved_at"):
        if initiative_id not in approved or approved_at > approved[initiative_id]:
            approved[initiative_id] = approved_at
    out = {}
    for initiative_id, rows in events.items():
        reasons = reassessment_events(rows, last_approved_at=approved.get(initiative_id))
        if reasons:
            out[initiative_id] = (TIER_CAP, reasons)
    return out
