"""Celery tasks of the scoring app: thin doors over service functions."""

from celery import shared_task


@shared_task(name="scoring.ping", acks_late=True)
def ping_task(payload: str = "pong") -> dict:
    """A round-trip check for operators and the start-up test: echoes its payload with the worker's view."""
    from django.db import connection

    return {"payload": payload, "database": connection.vendor}
