"""Project configuration; importing it makes the Celery app available to Django (shared_task binds to it)."""

from .celery_app import app as celery_app

__all__ = ("celery_app",)
