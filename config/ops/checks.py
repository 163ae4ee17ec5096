"""System checks of the ops settings: a weak metrics token is reported by ``check --deploy``."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

MIN_TOKEN_LENGTH = 32


@register(Tags.security, deploy=True)
def metrics_token_check(app_configs, **kwargs):
    token = settings.METRICS_TOKEN
    if token and (len(token) < MIN_TOKEN_LENGTH or len(set(token)) < 8):
        return [
            Warning(
                f"METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters or repeats too few of them.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
                id="ops.W001",
            )
        ]
    return []
