"""Sign-on settings from the environment: LDAP / Active Directory (django-auth-ldap), OIDC single sign-on
(mozilla-django-oidc) and the second factor (django-otp). Both directories are off unless configured; every
variable is described in docs/sign-on.md.

``ldap_settings`` and ``oidc_settings`` turn an environment mapping into Django settings, so the tests check the
same mapping with their own directory and provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# The group types by their django-auth-ldap class names (django_auth_ldap.config), imported with python-ldap only
# where a directory is configured: python-ldap and pyasn1 are ≈7 MB in each process, and a Celery worker's three
# processes with no directory need neither (docs/performance.md).
GROUP_TYPES = {
    "groupOfNames": "GroupOfNamesType",
    "nestedGroupOfNames": "NestedGroupOfNamesType",
    "groupOfUniqueNames": "GroupOfUniqueNamesType",
    "activeDirectory": "ActiveDirectoryGroupType",
    "nestedActiveDirectory": "NestedActiveDirectoryGroupType",
    "posixGroup": "PosixGroupType",
}


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def ldap_settings(environ: Mapping[str, str]) -> dict:
    """AUTH_LDAP_* from LDAP_* variables; ``AUTH_LDAP_SERVER_URI`` empty (the default) turns LDAP off."""
    group_type = environ.get("LDAP_GROUP_TYPE") or "groupOfNames"
    if group_type not in GROUP_TYPES:
        raise ValueError(f"LDAP_GROUP_TYPE must be one of {', '.join(GROUP_TYPES)}, not {group_type!r}")
    import ldap
    from django_auth_ldap import config as ldap_config

    # Short network timeouts: a directory that is down or slow fails a sign-in within seconds, with a clear
    # message, and local accounts still sign in (docs/sign-on.md).
    timeout = float(environ.get("LDAP_TIMEOUT") or 3)
    options = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_PROTOCOL_VERSION: 3,
    }
    if environ.get("LDAP_CA_CERT_FILE"):
        options[ldap.OPT_X_TLS_CACERTFILE] = environ["LDAP_CA_CERT_FILE"]
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # applies the two options above to this connection
    return {
        "AUTH_LDAP_SERVER_URI": environ.get("LDAP_SERVER_URI", ""),
        "AUTH_LDAP_BIND_DN": environ.get("LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": environ.get("LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": _bool(environ.get("LDAP_START_TLS")),
        "AUTH_LDAP_USER_SEARCH": ldap_config.LDAPSearch(
            environ.get("LDAP_USER_SEARCH_BASE", ""),
            ldap.SCOPE_SUBTREE,
            environ.get("LDAP_USER_FILTER") or "(uid=%(user)s)",
        ),
        "AUTH_LDAP_GROUP_SEARCH": ldap_config.LDAPSearch(
            environ.get("LDAP_GROUP_SEARCH_BASE", ""),
            ldap.SCOPE_SUBTREE,
            environ.get("LDAP_GROUP_FILTER") or "(objectClass=*)",
        ),
        "AUTH_LDAP_GROUP_TYPE": getattr(ldap_config, GROUP_TYPES[group_type])(),
        "AUTH_LDAP_USER_ATTR_MAP": {
            "first_name": environ.get("LDAP_ATTR_FIRST_NAME") or "givenName",
            "last_name": environ.get("LDAP_ATTR_LAST_NAME") or "sn",
            "email": environ.get("LDAP_ATTR_EMAIL") or "mail",
        },
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
    }


def oidc_settings(environ: Mapping[str, str]) -> dict:
    """OIDC_* for the relying party; OIDC is on when the client id, issuer and endpoints are all set."""
    return {
        "OIDC_RP_CLIENT_ID": environ.get("OIDC_RP_CLIENT_ID", ""),
        "OIDC_RP_CLIENT_SECRET": environ.get("OIDC_RP_CLIENT_SECRET", ""),
        "OIDC_OP_ISSUER": environ.get("OIDC_OP_ISSUER", ""),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", ""),
        "OIDC_OP_TOKEN_ENDPOINT": environ.get("OIDC_OP_TOKEN_ENDPOINT", ""),
        "OIDC_OP_USER_ENDPOINT": environ.get("OIDC_OP_USER_ENDPOINT", ""),
        "OIDC_OP_JWKS_ENDPOINT": environ.get("OIDC_OP_JWKS_ENDPOINT", ""),
        "OIDC_OP_LOGOUT_ENDPOINT": environ.get("OIDC_OP_LOGOUT_ENDPOINT", ""),
        "OIDC_RP_SIGN_ALGO": environ.get("OIDC_RP_SIGN_ALGO") or "RS256",
        "OIDC_RP_SCOPES": environ.get("OIDC_RP_SCOPES") or "openid email profile",
        "OIDC_GROUPS_CLAIM": environ.get("OIDC_GROUPS_CLAIM") or "groups",
        "OIDC_USERNAME_CLAIM": environ.get("OIDC_USERNAME_CLAIM") or "preferred_username",
        "OIDC_TIMEOUT": float(environ.get("OIDC_TIMEOUT") or 5),
        "OIDC_VERIFY_SSL": environ.get("OIDC_CA_BUNDLE") or _bool(environ.get("OIDC_VERIFY_SSL"), True),
        "OIDC_CLOCK_SKEW_SECONDS": int(environ.get("OIDC_CLOCK_SKEW_SECONDS") or 60),
        # Fixed: authorization-code flow with PKCE (S256) and a nonce; the state is checked by the library.
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_CREATE_USER": True,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "signon:oidc-callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "LOGIN_REDIRECT_URL_FAILURE": "/admin/login/",
    }


# With no directory configured LDAP is off (partnerships.signon.conf.ldap_enabled): only the empty URI is set, and
# python-ldap is not imported. A wrong LDAP_GROUP_TYPE is still refused at start-up.
if os.environ.get("LDAP_SERVER_URI"):
    globals().update(ldap_settings(os.environ))
elif (os.environ.get("LDAP_GROUP_TYPE") or "groupOfNames") not in GROUP_TYPES:
    ldap_settings(os.environ)  # raises the ValueError naming the choices
else:
    AUTH_LDAP_SERVER_URI = ""
globals().update(oidc_settings(os.environ))

# A directory account is re-checked against the directory when its last check is older than this, by the next
# request of its session or its API token (one search with the short timeouts above).
SIGNON_DIRECTORY_CHECK_SECONDS = int(os.environ.get("SIGNON_DIRECTORY_CHECK_SECONDS") or 900)
# An OIDC sign-in's admin session lasts this long; then the bank's identity provider is asked again.
SIGNON_OIDC_SESSION_SECONDS = int(os.environ.get("SIGNON_OIDC_SESSION_SECONDS") or 8 * 3600)
# Local accounts with these roles in any bank (and every superuser) need a second factor.
SIGNON_OTP_ROLES = ("manager",)
SIGNON_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = "Partnership Scorecard"
