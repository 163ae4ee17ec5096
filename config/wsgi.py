"""WSGI entry point (gunicorn config.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()

# The objects loaded so far (modules, models, URL patterns, settings: ~140,000 of a worker's ~180,000) live as
# long as the process: gc.freeze() takes them out of the collector's reach, so a full collection no longer walks
# them (measured: ~36 ms → ~20 ms a pass, a few passes a second of load per worker: the p99 of whichever request
# it lands in), and, with --preload, the collector does not write to the pages the workers share after the fork.
# why: here, not in a gunicorn hook, because `gunicorn config.wsgi` without `-c config/gunicorn.py` (the bench,
# a bare run) loads the app through this module in each worker, and with --preload in the master before the
# fork — frozen either way. The collector's thresholds stay Python's: raising them measured no faster.
gc.freeze()
