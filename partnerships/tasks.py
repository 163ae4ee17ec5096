"""Celery tasks of the partnerships app: thin doors over service functions (scoring/tasks.py has the others).

``check_limits_task`` is the daily joint-lending limit check (beat schedule: partnerships/migrations/0007). It is
acknowledged late and rejected on worker loss, retries on transient database and broker errors, and is safe to
run twice at once or again after a retry: the service works bank by bank under the bank's row lock, opens at most
one breach per bank, limit and subject, and e-mails each breach once (``notified_at``).
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

TRANSIENT = (OperationalError, InterfaceError, BrokerOperationalError, ConnectionError, TimeoutError)


@shared_task(
    name="partnerships.check_limits",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=240,
    time_limit=300,
)
def check_limits_task(as_of: str | None = None, bank_ids: list[int] | None = None) -> dict:
    """Check the limits of every bank (or ``bank_ids``) on ``as_of`` (ISO date; today by default)."""
    import datetime

    from .services.limit_breaches import limit_breaches_check

    outcome = limit_breaches_check(
        as_of=datetime.date.fromisoformat(as_of) if as_of else None, bank_ids=bank_ids
    )
    return {
        "banks": outcome.banks,
        "opened": len(outcome.opened),
        "resolved": len(outcome.resolved),
        "notified": outcome.notified,
    }
