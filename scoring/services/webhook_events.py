"""Scoring's webhook events (docs/webhooks.md): what ``score.created`` and ``assessment.approved`` carry.

Both are emitted through ``partnerships.services.webhooks.webhook_event_emit`` inside the transaction of the change,
so a rolled-back change sends nothing.

``score.created`` is one event per scored chunk that wrote new Scores — a chunk is one bank's ≤ 500 initiatives of a
job — listing those scores: a single-initiative request gives one event with one score, a re-score of 100,000
initiatives at most 200 events, never one per initiative. A re-score that changed nothing writes no Score and sends
nothing.
"""

from __future__ import annotations

from partnerships.choices import WebhookEventType
from partnerships.services.webhooks import webhook_event_emit, webhook_subscribed

from ..models import Score


def scores_created_emit(*, bank_id: int, job_id, initiative_ids: list[int]) -> None:
    """``score.created`` for the Scores the job wrote for these initiatives (one chunk), if any."""
    if not webhook_subscribed(bank_id=bank_id, event_type=WebhookEventType.SCORE_CREATED):
        return
    rows = (
        Score.objects.filter(job_id=job_id, initiative_id__in=initiative_ids)
        .order_by("initiative_id", "pk")
        .values(
            "id",
            "initiative_id",
            "initiative__code",
            "rubric_version_id",
            "total",
            "tier",
            "gate_passed",
            "provisional",
            "confidence",
            "computed_at",
        )
    )
    scores = [
        {
            "id": row["id"],
            "initiative": row["initiative_id"],
            "initiative_code": row["initiative__code"],
            "rubric_version": row["rubric_version_id"],
            "total": float(row["total"]),
            "tier": row["tier"],
            "gate_passed": row["gate_passed"],
            "provisional": row["provisional"],
            "confidence": float(row["confidence"]),
            "computed_at": row["computed_at"],
        }
        for row in rows
    ]
    if scores:
        webhook_event_emit(
            bank_id=bank_id,
            event_type=WebhookEventType.SCORE_CREATED,
            data={"job": str(job_id), "scores": scores},
        )


def assessment_approved_emit(*, assessment, job) -> None:
    """``assessment.approved``: the assessment, its initiative, who approved it, and the score job it queued."""
    initiative = assessment.initiative
    webhook_event_emit(
        bank_id=initiative.bank_id,
        event_type=WebhookEventType.ASSESSMENT_APPROVED,
        data={
            "assessment": assessment.pk,
            "initiative": initiative.pk,
            "initiative_code": initiative.code,
            "rubric_version": assessment.rubric_version_id,
            "author": getattr(assessment.author, "username", None),
            "approved_by": getattr(assessment.approved_by, "username", None),
            "approved_at": assessment.approved_at,
            "score_job": str(job.pk) if job is not None else None,
        },
    )
