"""Benchmark settings (``make bench``): production's settings made runnable on one machine.

DEBUG off, a fixed bench-only secret, local hosts, no HTTPS redirect, and API throttle rates no load test
reaches (through the API's env-configurable rates). The database and broker come from DATABASE_URL / REDIS_URL
as everywhere (bench/run.py points them at ``scorecard_bench`` and Redis db 9); without them this is the
embedded default (SQLite + filesystem broker under SCORECARD_VAR_DIR). The URLconf adds one plain Django JSON
view, ``/bench/ping/``, the ceiling the API endpoints are compared with. Never use these settings to serve.
"""

import os

BENCH_SECRET_KEY = "bench-only-secret-5f3c9a1e7b2d4c6e8f0a1b3c5d7e9f2a4c6e8b0d2f4a6c8e"

# production.py reads these at import time and refuses to start without a real secret and explicit hosts.
os.environ["DJANGO_SECRET_KEY"] = BENCH_SECRET_KEY
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "False")  # wrk speaks plain HTTP to 127.0.0.1
os.environ.setdefault("DJANGO_SECURE_HSTS_SECONDS", "0")
# The API's throttles stay on (their cache round trip is part of every request), at rates no bench reaches.
for _scope in ("ANON", "USER", "AUTH", "SCORING"):
    os.environ.setdefault(f"API_THROTTLE_{_scope}", "10000000/minute")

from .production import *  # noqa: E402, F403
from .production import DATABASES  # noqa: E402

DEBUG = False
SECRET_KEY = BENCH_SECRET_KEY
ROOT_URLCONF = "bench.urls"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# Kept connections, as in production: reconnecting per request costs the detail endpoint ~10x (shared NOTES).
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = max(int(DATABASES["default"].get("CONN_MAX_AGE") or 0), 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
