"""The Celery application: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

from .broker import register as register_embedded_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

register_embedded_broker()  # the "scorecardfs://" transport of the embedded default (config/broker.py)
app = Celery("scorecard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
