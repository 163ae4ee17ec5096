"""Local development: DEBUG on; embedded defaults of base unless DATABASE_URL / REDIS_URL say otherwise."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Mail (the weekly reports with their attachments) is written to files under var/mail/, one per message, not to
# the console: the worker's log stays readable and holds no report bodies or attachments.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
