"""What is configured: a directory (LDAP_SERVER_URI) and an identity provider (OIDC_*); read at call time, so a
test's settings override (and a reload of the environment) take effect without a restart of the module."""

from __future__ import annotations

from django.conf import settings

OIDC_REQUIRED = (
    "OIDC_RP_CLIENT_ID",
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)


def ldap_enabled() -> bool:
    return bool(getattr(settings, "AUTH_LDAP_SERVER_URI", ""))


def oidc_enabled() -> bool:
    return all(getattr(settings, name, "") for name in OIDC_REQUIRED)


def directory_check_seconds() -> int:
    """How old a directory account's last check may be before a request re-checks it (sessions and tokens)."""
    return int(getattr(settings, "SIGNON_DIRECTORY_CHECK_SECONDS", 900))


def otp_roles() -> set[str]:
    return set(getattr(settings, "SIGNON_OTP_ROLES", ("manager",)))
