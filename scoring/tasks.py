"""Celery tasks of the scoring app: thin doors over service functions, with the delivery settings.

Every task is acknowledged late and rejected when its worker is lost (so the broker redelivers it), retries
with exponential backoff on transient database and broker errors, and has soft and hard time limits.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

TRANSIENT = (OperationalError, InterfaceError, BrokerOperationalError, ConnectionError, TimeoutError)

RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
    "soft_time_limit": 240,
    "time_limit": 300,
}


def _fail_job(task, exc, task_id, args, kwargs, einfo) -> None:
    from .services.jobs import score_job_fail

    score_job_fail(args[0], f"{type(exc).__name__}: {exc}")


@shared_task(name="scoring.score_job_run", bind=True, ignore_result=True, on_failure=_fail_job, **RELIABLE)
def score_job_run_task(self, job_id: str) -> None:
    from .services.jobs import score_job_run

    score_job_run(job_id)


def _fail_chunk_job(task, exc, task_id, args, kwargs, einfo) -> None:
    from .models import ScoreJobChunk
    from .services.jobs import score_job_fail

    job_id = ScoreJobChunk.objects.filter(pk=args[0]).values_list("job_id", flat=True).first()
    if job_id:
        score_job_fail(job_id, f"chunk {args[0]}: {type(exc).__name__}: {exc}")


@shared_task(
    name="scoring.score_chunk", bind=True, ignore_result=True, on_failure=_fail_chunk_job, **RELIABLE
)
def score_chunk_task(self, chunk_id: int) -> None:
    from .services.jobs import score_chunk_run

    score_chunk_run(chunk_id)


@shared_task(name="scoring.sweep_score_jobs", ignore_result=True, **RELIABLE)
def sweep_score_jobs_task() -> int:
    from .services.jobs import score_jobs_sweep

    return score_jobs_sweep()


@shared_task(name="scoring.ping", acks_late=True)
def ping_task(payload: str = "pong") -> dict:
    """A round-trip check for operators and the start-up test: echoes its payload with the worker's view."""
    from django.db import connection

    return {"payload": payload, "database": connection.vendor}


# --- reports ---


@shared_task(name="scoring.generate_report", ignore_result=True, **RELIABLE)
def generate_report_task(
    kind: str = "weekly_portfolio",
    bank_id: int | None = None,
    period_start: str | None = None,
    force: bool = False,
) -> None:
    """One report (idempotent per kind, bank and week); ``period_start`` is any day of the week, ISO format,
    by default the last complete week; ``bank_id`` None is the all-banks report."""
    import datetime

    from .reports.services import last_complete_week_start, report_generate

    start = datetime.date.fromisoformat(period_start) if period_start else last_complete_week_start()
    report_generate(kind=kind, bank_id=bank_id, period_start=start, force=force)


@shared_task(name="scoring.generate_weekly_reports", ignore_result=True, **RELIABLE)
def generate_weekly_reports_task(period_start: str | None = None) -> int:
    """Fan out: one report task per bank plus the all-banks one, for the same week."""
    import datetime

    from .reports.services import reports_enqueue_weekly

    return reports_enqueue_weekly(
        period_start=datetime.date.fromisoformat(period_start) if period_start else None
    )


@shared_task(name="scoring.sweep_stale_scores", ignore_result=True, **RELIABLE)
def sweep_stale_scores_task() -> int:
    """Score jobs (kind "sweep") for initiatives never scored or scored under an older rubric version."""
    from .reports.services import stale_scores_sweep

    return len(stale_scores_sweep())
