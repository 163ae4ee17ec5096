"""Test settings: fast hashing, in-memory e-mail, a test-only secret. The database and broker are real."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default="/tmp/scorecard-test-media")

# The API's throttles stay on in tests, with rates no test reaches (tests of 429 lower them themselves).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {scope: "100000/minute" for scope in API_THROTTLE_RATES},  # noqa: F405
}
