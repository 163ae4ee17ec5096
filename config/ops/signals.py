"""Celery task outcomes, counted in the shared cache wherever the worker runs (ops.counters, ops.metrics)."""

from __future__ import annotations

from celery.signals import task_failure, task_retry, task_success

from . import counters

TASKS_METRIC = "celery_tasks"
STATES = ("succeeded", "failed", "retried")


def task_key(task_name: str, state: str) -> str:
    return counters.key(TASKS_METRIC, task_name, state)


def _name(sender) -> str:
    return getattr(sender, "name", None) or str(sender)


@task_success.connect(dispatch_uid="ops.count_task_success")
def count_success(sender=None, **kwargs) -> None:
    counters.incr(task_key(_name(sender), "succeeded"))


@task_failure.connect(dispatch_uid="ops.count_task_failure")
def count_failure(sender=None, **kwargs) -> None:
    """A task that failed for good: after its last retry, or with an error it does not retry."""
    counters.incr(task_key(_name(sender), "failed"))


@task_retry.connect(dispatch_uid="ops.count_task_retry")
def count_retry(sender=None, **kwargs) -> None:
    counters.incr(task_key(_name(sender), "retried"))
