"""App configuration for partnerships."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnershipsConfig(AppConfig):
    name = "partnerships"
    verbose_name = _("Partnerships")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (the demo_data_seeded signal scoring listens to)
        from .signon import receivers  # noqa: F401  (sign-ins into the audit and the second-factor gate)
