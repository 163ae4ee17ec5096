"""Test settings: fast hashing, in-memory e-mail, a test-only secret. The database and broker are real."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory; a test that runs a real worker subprocess points it at files instead (DJANGO_EMAIL_BACKEND and
# DJANGO_EMAIL_FILE_PATH in the worker's environment) to read what the worker sent.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default="/tmp/scorecard-test-mail")
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default="/tmp/scorecard-test-media")

# The API's throttles stay on in tests, with rates no test reaches (tests of 429 lower them themselves).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {scope: "100000/minute" for scope in API_THROTTLE_RATES},  # noqa: F405
}

# Static files by their plain names: the suite renders admin pages with DEBUG off, and the hashed names of base.py's
# storage need `collectstatic` (a manifest) first — seconds of work per run, and a folder the parallel runs would
# share. The hashed, compressed storage is tested where it is served: tests/ops/test_static.py runs collectstatic
# into a folder of its own and asks gunicorn for the admin's CSS; `make prod-smoke` does the same in production.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise finds files in the apps' folders on each request (no STATIC_ROOT needed, no "No directory" warning).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Webhooks (docs/webhooks.md): the tests' receivers listen on 127.0.0.1 over plain HTTP; back-off and timeouts short
# enough for a test to see retries, a slow receiver and the final failure within seconds.
WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
WEBHOOKS_BACKOFF_SECONDS = [int(s) for s in env.list("WEBHOOKS_BACKOFF_SECONDS", default=["1", "1", "2"])]
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=4)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=1.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=2.0)
