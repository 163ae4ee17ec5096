"""Helpers of the lifecycle tests: an approved assessment on a given day, an initiative with a current tier."""

from __future__ import annotations

import datetime

from django.utils import timezone

from scoring.choices import AssessmentStatus
from scoring.models import Assessment
from tests.factories import InitiativeFactory, UserFactory
from tests.reports.conftest import published_version, set_score


def approve_on(initiative, day: datetime.date, **extra) -> Assessment:
    """An assessment of the initiative approved at noon (Asia/Shanghai) on ``day``."""
    when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    return Assessment.objects.create(
        initiative=initiative,
        rubric_version=published_version(initiative.pillar_id),
        author=UserFactory(),
        status=AssessmentStatus.APPROVED,
        approved_by=UserFactory(),
        approved_at=when,
        **extra,
    )


def initiative_with(bank, *, tier: str | None = None, approved: datetime.date | None = None, **fields):
    initiative = InitiativeFactory(bank=bank, **fields)
    if tier is not None:
        set_score(initiative, {"A": 80.0, "B": 65.0, "C": 50.0, "D": 20.0}[tier], tier)
    if approved is not None:
        approve_on(initiative, approved)
    return initiative
