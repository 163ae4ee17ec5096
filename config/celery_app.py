"""The Celery application: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

from .broker import register as register_embedded_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Celery's Django fixup runs Django's system checks when a worker or beat starts, and the URL checks import the
# whole URLconf — the API, drf-spectacular, import-export, openpyxl — into a process that serves no HTTP: 118 MB
# a process instead of 86 MB, three times over in a prefork worker (docs/performance.md). The checks run where
# they belong: `manage.py check --deploy` (CI's prod smoke), the web process and the test suite. Set
# CELERY_SKIP_CHECKS="" to have a worker run them again.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

register_embedded_broker()  # the "scorecardfs://" transport of the embedded default (config/broker.py)
app = Celery("scorecard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
