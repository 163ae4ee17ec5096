"""The report's "open monitoring events and overdue remediations" section (issue 14, ``docs/lifecycle.md``).

Two queries whatever the portfolio's size: one aggregate for the counts, one list (most severe first, then the
oldest remediation deadline), limited like the report's other lists. Events of retired initiatives count too: a
data breach does not end with the partnership.
"""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, IntegerField, Q, Value, When

from partnerships.choices import MonitoringEventStatus, Severity
from partnerships.models import MonitoringEvent

SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def monitoring_section(*, bank_id: int | None, today: datetime.date, limit: int) -> dict:
    """{open_count, overdue_remediations, by_severity {critical, high, medium, low}, items [...]}: the events not
    closed in scope on ``today``; a remediation is overdue when its deadline is before ``today``."""
    events = MonitoringEvent.objects.exclude(status=MonitoringEventStatus.CLOSED)
    if bank_id is not None:
        events = events.for_bank(bank_id)
    overdue = Q(remediation_due_on__lt=today)
    counts = events.aggregate(
        open_count=Count("id"),
        overdue_remediations=Count("id", filter=overdue),
        **{f"n_{s.value}": Count("id", filter=Q(severity=s.value)) for s in SEVERITY_ORDER},
    )
    rank = Case(
        *(When(severity=s.value, then=Value(i)) for i, s in enumerate(SEVERITY_ORDER)),
        output_field=IntegerField(),
    )
    rows = (
        events.annotate(severity_rank=rank)
        .order_by("severity_rank", "remediation_due_on", "occurred_on", "id")
        .values(
            "id",
            "initiative_id",
            "initiative__code",
            "initiative__title",
            "initiative__bank__code",
            "initiative__pillar_id",
            "kind",
            "severity",
            "status",
            "occurred_on",
            "description",
            "remediation_due_on",
            "remediation_owner__username",
            "remediation_owner__first_name",
            "remediation_owner__last_name",
        )[:limit]
    )
    items = []
    for r in rows:
        due = r["remediation_due_on"]
        owner = " ".join(
            t for t in (r["remediation_owner__first_name"], r["remediation_owner__last_name"]) if t
        ) or (r["remediation_owner__username"] or "")
        items.append(
            {
                "event_id": r["id"],
                "initiative_id": r["initiative_id"],
                "code": r["initiative__code"],
                "title": r["initiative__title"],
                "bank": r["initiative__bank__code"],
                "pillar": r["initiative__pillar_id"],
                "kind": r["kind"],
                "severity": r["severity"],
                "status": r["status"],
                "occurred_on": r["occurred_on"].isoformat(),
                "description": r["description"],
                "remediation_owner": owner,
                "remediation_due_on": due.isoformat() if due else None,
                "remediation_overdue": due is not None and due < today,
            }
        )
    return {
        "open_count": counts["open_count"],
        "overdue_remediations": counts["overdue_remediations"],
        "by_severity": {s.value: counts[f"n_{s.value}"] for s in SEVERITY_ORDER},
        "items": items,
    }
