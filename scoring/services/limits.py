"""Joint-lending limits in scoring: the scores asked for again when the daily limit check opens or resolves a
breach (``partnerships.signals.limit_breaches_changed``), so the initiatives' compliance gate follows the limits."""

from __future__ import annotations

import logging

from partnerships.errors import ServiceError

from .jobs import MAX_JOB_INITIATIVES, score_job_request

logger = logging.getLogger(__name__)


def limit_breaches_rescore(*, bank_id: int, initiative_ids: list[int]) -> list:
    """Score jobs (by the system) for the initiatives, in the caller's transaction (enqueued on commit)."""
    ids = sorted(set(initiative_ids))
    jobs = []
    for start in range(0, len(ids), MAX_JOB_INITIATIVES):
        chunk = ids[start : start + MAX_JOB_INITIATIVES]
        try:
            jobs.append(score_job_request(user=None, initiative_ids=chunk))
        except ServiceError as exc:  # e.g. a pillar without a published rubric: nothing to score against yet
            logger.warning("limit breaches of bank %s: no re-score for %s: %s", bank_id, chunk[:20], exc)
    return jobs
