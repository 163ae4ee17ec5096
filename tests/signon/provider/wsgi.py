"""WSGI entry of the test provider (gunicorn tests.signon.provider.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.signon.provider.settings")
application = get_wsgi_application()
