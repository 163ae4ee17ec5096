"""Celery tasks of the partnerships app: thin doors over service functions (scoring/tasks.py has the others).

``check_limits_task`` is the daily joint-lending limit check (beat schedule: partnerships/migrations/0007). It is
acknowledged late and rejected on worker loss, retries on transient database and broker errors, and is safe to
run twice at once or again after a retry: the service works bank by bank under the bank's row lock, opens at most
one breach per bank, limit and subject, and e-mails each breach once (``notified_at``).

``purge_idempotency_records_task`` deletes the API's expired Idempotency-Key records once a day (beat schedule:
partnerships/migrations/0009).

``webhook_deliver_task`` makes one attempt at a webhook delivery; its retries are scheduled by the service (the
delivery row holds the attempts and the next attempt's time, ``docs/webhooks.md``), not by Celery's retry, which
only covers transient database and broker errors. ``sweep_webhook_deliveries_task`` (every minute, beat schedule:
partnerships/migrations/0010) enqueues the due deliveries whose task was lost.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

TRANSIENT = (OperationalError, InterfaceError, BrokerOperationalError, ConnectionError, TimeoutError)


def _reliable(**options) -> dict:
    """What every task here shares — no result kept, acknowledged late and rejected on worker loss (a lost worker's
    task runs again), retried with jittered back-off on transient database and broker errors — and its own name,
    retries and time limits."""
    return {
        "ignore_result": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": TRANSIENT,
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        **options,
    }


@shared_task(
    **_reliable(name="partnerships.check_limits", max_retries=10, soft_time_limit=240, time_limit=300)
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


@shared_task(
    **_reliable(
        name="partnerships.purge_idempotency_records", max_retries=10, soft_time_limit=240, time_limit=300
    )
)
def purge_idempotency_records_task() -> int:
    """Delete the API's idempotency records older than IDEMPOTENCY_TTL_HOURS (beat: partnerships/migrations/0009).

    Safe twice at once: both delete what has expired, expired records are already ignored by the API.
    """
    from .services.idempotency import idempotency_records_purge

    return idempotency_records_purge()


@shared_task(
    **_reliable(
        name="partnerships.send_reassessment_reminders", max_retries=10, soft_time_limit=240, time_limit=300
    )
)
def send_reassessment_reminders_task(today: str | None = None) -> int:
    """The weekly re-assessment reminder (beat: partnerships/migrations/0011). Safe to run twice: each bank's
    reminder is sent once a week under the bank's lock (``ReassessmentReminder``)."""
    import datetime

    from .services.lifecycle import reassessment_reminders_send

    return reassessment_reminders_send(today=datetime.date.fromisoformat(today) if today else None)


@shared_task(
    **_reliable(
        name="partnerships.webhook_deliver",
        autoretry_for=(OperationalError, InterfaceError),
        max_retries=10,
        soft_time_limit=60,
        time_limit=90,
    )
)
def webhook_deliver_task(delivery_id: int) -> str:
    """One attempt at a webhook delivery; safe to run twice (row lock, done or not-yet-due deliveries skipped)."""
    from .services.webhooks import webhook_delivery_attempt

    return webhook_delivery_attempt(delivery_id)


@shared_task(
    **_reliable(
        name="partnerships.sweep_webhook_deliveries", max_retries=3, soft_time_limit=50, time_limit=60
    )
)
def sweep_webhook_deliveries_task() -> int:
    """Enqueue the due webhook deliveries whose task was lost (beat: every minute)."""
    from .services.webhooks import webhook_deliveries_sweep

    return webhook_deliveries_sweep()
