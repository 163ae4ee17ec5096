"""App configuration for partnerships."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnershipsConfig(AppConfig):
    name = "partnerships"
    verbose_name = _("Partnerships")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from . import signals  # noqa: F401  (the demo_data_seeded signal scoring listens to)
        from .api.token_cache import connect_receivers
        from .signon import receivers  # noqa: F401  (sign-ins into the audit and the second-factor gate)

        connect_receivers()  # the API token cache forgets a user whose token, roles or account change
        if not settings.IS_CELERY_PROCESS:
            # {"note": 0} is a 400, as the schema says (partnerships/api/strict.py). A Celery worker or beat parses
            # no API body, and importing DRF's fields there pulls in requests, urllib3, pygments and uritemplate
            # (rest_framework.compat): ≈6 MB in each of a worker's processes (docs/performance.md).
            from .api.strict import make_string_fields_strict

            make_string_fields_strict()
