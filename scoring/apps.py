"""App configuration for scoring: role permissions for its models and the demo-seed receiver."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from partnerships.auth import register_model_rule

        from . import lookups, receivers  # noqa: F401

        for model in ("rubric", "rubricversion", "criterion"):
            register_model_rule("scoring", model, "viewer", None)  # authored by superusers
        for model in ("assessment", "rating"):
            register_model_rule("scoring", model, "viewer", "analyst")
        for model in ("score", "currentscore", "scorejob", "scorejobchunk", "report"):
            register_model_rule("scoring", model, "viewer", None)
