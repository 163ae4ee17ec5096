"""Authentication backends: local passwords, the bank's directory (LDAP / AD) and its identity provider (OIDC).

Each backend answers only for its own kind of account, so no directory entry or identity-provider claim can take
over a local account of the same name or e-mail, and a local password never signs in a directory account. The
backends note on the request how the user signed in (``request.signon_method``) and, on a failure, why
(``request.signon_failure``): the audit and the login page read them.

Why django-auth-ldap (python-ldap, a C library) rather than django-python3-ldap (ldap3, pure Python): it is the
better kept of the two, supports group search with nested and Active Directory group types and StartTLS out of
the box, and python-ldap honours network and operation timeouts (OPT_NETWORK_TIMEOUT, OPT_TIMEOUT) for every
call, which is how a down or slow directory fails within seconds. Its cost is a build of python-ldap against
libldap2-dev and libsasl2-dev, which .ci/run installs.
"""

from __future__ import annotations

import hashlib
import logging

import jwt
import ldap
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_auth_ldap.backend import LDAPBackend, _LDAPUser, ldap_error
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .conf import ldap_enabled, oidc_enabled
from .models import ExternalSource, SignOnMethod
from .services.accounts import (
    directory_account_is_stale,
    directory_account_link,
    directory_account_of,
    directory_account_recheck,
    local_account_holds,
)
from .services.mapping import memberships_follow_groups

logger = logging.getLogger(__name__)

DIRECTORY_UNREACHABLE_MESSAGE = _(
    "The bank's directory cannot be reached right now, so directory accounts cannot sign in. Try again in a few "
    "minutes; local accounts still sign in."
)


class DirectoryUnreachable(Exception):
    pass


def _fail(request, method: str, reason: str, shown=None) -> None:
    """Note why a sign-in failed: ``reason`` for the audit (English, technical), ``shown`` for the person."""
    if request is not None:
        request.signon_failure = (method, reason)
        request.signon_failure_shown = shown


def _on_ldap_error(sender, context=None, user=None, request=None, exception=None, **kwargs) -> None:
    """django-auth-ldap reports (and swallows) every LDAPError; keep it on the request (or the probe) it names."""
    if request is not None:
        try:
            request.signon_directory_error = exception
        except AttributeError:
            pass


ldap_error.connect(_on_ldap_error, dispatch_uid="signon-ldap-error")


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ldap.LDAPError) and exc.args and isinstance(exc.args[0], dict):
        info = exc.args[0]
        return f"{type(exc).__name__}: {info.get('desc', '')} {info.get('info', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


# --- local passwords ----------------------------------------------------------------------------------------------


class LocalPasswordBackend(ModelBackend):
    """Django's ModelBackend for local accounts only: a directory account never signs in with a password kept
    here (it would outlive the account's disabling in the directory)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        if directory_account_of(user) is not None:
            return None
        if request is not None:
            request.signon_method = SignOnMethod.LOCAL
        return user


# --- the directory (LDAP / Active Directory) -------------------------------------------------------------------


class _Probe:
    """Stands for a request in a directory look-up made outside one (re-checks): collects the LDAPError."""

    signon_directory_error = None
    META: dict = {}


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap, limited to directory accounts, with groups mapped to bank roles at every sign-in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not ldap_enabled() or not username or not password:
            return None
        username = username.strip()
        if local_account_holds(username):
            return None  # a local account of that name: LocalPasswordBackend has answered for it
        ldap_user = _LDAPUser(self, username=username, request=request)
        user = self.authenticate_ldap_user(ldap_user, password)
        if user is None and request is not None:
            error = getattr(request, "signon_directory_error", None)
            if error is not None:
                _fail(request, SignOnMethod.LDAP, f"directory unreachable: {_error_text(error)}")
            elif getattr(request, "signon_failure", None) is None:
                found = ldap_user._user_dn is not None
                _fail(
                    request,
                    SignOnMethod.LDAP,
                    "wrong password"
                    if found
                    else "not found by the directory's user search (or disabled there)",
                )
                if not found:
                    self._disable_known_account(username, request)
        return user

    def _disable_known_account(self, username: str, request) -> None:
        """A directory user the directory no longer finds: disabled or removed there, so disabled here too."""
        from .models import DirectoryAccount
        from .services.accounts import directory_account_disable

        account = (
            DirectoryAccount.objects.select_related("user")
            .filter(source=ExternalSource.LDAP, user__username__iexact=username, disabled=False)
            .first()
        )
        if account is not None:
            directory_account_disable(
                account=account, reason="refused at sign-in: not found by the user search", request=request
            )

    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built:
            account = directory_account_of(user)
            if account is None or account.source != ExternalSource.LDAP:
                raise ldap_user.AuthenticationFailed("the username belongs to an account that is not LDAP's")
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        request = ldap_user._request
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        account = directory_account_of(user)
        if not user.is_active and not (account is not None and account.disabled):
            _fail(request, SignOnMethod.LDAP, "account deactivated in Scorecard")
            return None
        try:
            groups = sorted(ldap_user.group_dns)
        except ldap.LDAPError as exc:
            if request is not None:
                request.signon_directory_error = exc
            _fail(request, SignOnMethod.LDAP, f"directory unreachable: {_error_text(exc)}")
            return None
        with transaction.atomic():
            directory_account_link(
                user=user, source=ExternalSource.LDAP, subject=ldap_user.dn, groups=groups, request=request
            )
            memberships_follow_groups(
                user=user,
                source=ExternalSource.LDAP,
                groups=groups,
                method=SignOnMethod.LDAP,
                request=request,
            )
        if request is not None:
            request.signon_method = SignOnMethod.LDAP
            request.signon_groups = groups
        return user

    def get_user(self, user_id):
        """The session's user, re-checked against the directory when the last check is stale."""
        user = get_user_model().objects.select_related("directory_account").filter(pk=user_id).first()
        if user is None:
            return None
        account = directory_account_of(user)
        if account is not None and (account.disabled or directory_account_is_stale(account)):
            if not directory_account_recheck(account=account):
                return None
        return user

    # Permissions come from bank memberships (partnerships.auth), never from directory groups.
    def has_perm(self, user, perm, obj=None):
        return False

    def has_module_perms(self, user, app_label):
        return False

    def get_all_permissions(self, user, obj=None):
        return set()


def directory_lookup(username: str) -> tuple[str, list[str]] | None:
    """(DN, group DNs) of a directory user found by the user search with the service account; None when the search
    finds nobody (disabled or removed). Raises DirectoryUnreachable when the directory does not answer."""
    backend = DirectoryBackend()
    probe = _Probe()
    ldap_user = _LDAPUser(backend, username=username, request=probe)
    dn = ldap_user.dn
    if probe.signon_directory_error is not None:
        raise DirectoryUnreachable(_error_text(probe.signon_directory_error))
    if dn is None:
        return None
    try:
        groups = sorted(ldap_user.group_dns)
    except ldap.LDAPError as exc:
        raise DirectoryUnreachable(_error_text(exc)) from exc
    return dn, groups


# --- the identity provider (OIDC) --------------------------------------------------------------------------------


class IdentityProviderBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's relying party, stricter: the ID token's signature, issuer, audience, expiry and nonce
    are all checked; users are matched by (issuer, subject), never by e-mail; groups map to bank roles."""

    def __init__(self, *args, **kwargs):
        self.enabled = oidc_enabled()
        if self.enabled:
            super().__init__(*args, **kwargs)
        else:
            self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if not self.enabled or request is None or "code" not in getattr(request, "GET", {}):
            return None
        try:
            return super().authenticate(request, **kwargs)
        except jwt.ExpiredSignatureError:
            _fail(
                request,
                SignOnMethod.OIDC,
                "the ID token has expired",
                _("The identity provider's answer has expired."),
            )
        except jwt.InvalidSignatureError:
            _fail(
                request,
                SignOnMethod.OIDC,
                "the ID token's signature is not valid",
                _("The identity provider's answer is not signed with its key."),
            )
        except jwt.InvalidTokenError as exc:
            _fail(request, SignOnMethod.OIDC, f"the ID token was refused: {type(exc).__name__}: {exc}")
        except SuspiciousOperation as exc:
            _fail(request, SignOnMethod.OIDC, f"refused: {exc}")
        except requests.RequestException as exc:
            _fail(
                request,
                SignOnMethod.OIDC,
                f"identity provider unreachable or refused: {type(exc).__name__}",
                _("The identity provider cannot be reached right now."),
            )
        return None

    def verify_token(self, token, **kwargs):
        nonce = kwargs.get("nonce")
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"the ID token is signed with {algorithm!r}, not {self.OIDC_RP_SIGN_ALGO!r}"
            )
        if algorithm.startswith(("RS", "ES", "PS")):
            key = self.OIDC_RP_IDP_SIGN_KEY or self.retrieve_matching_jwk(token)
        else:
            key = self.OIDC_RP_CLIENT_SECRET
        payload = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.OIDC_RP_CLIENT_ID,
            issuer=settings.OIDC_OP_ISSUER,
            leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        if nonce is not None and payload.get("nonce") != nonce:
            raise SuspiciousOperation("the ID token's nonce does not match this sign-in")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        request = self.request
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("the userinfo's subject is not the ID token's")
            claims = {**userinfo, **payload}
        subject = f"{payload['iss']} {payload['sub']}"
        user = self._user_for(subject, claims)
        account = directory_account_of(user)
        if not user.is_active and not (account is not None and account.disabled):
            raise SuspiciousOperation("the account is deactivated in Scorecard")
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        groups = sorted(str(g) for g in groups)
        with transaction.atomic():
            directory_account_link(
                user=user, source=ExternalSource.OIDC, subject=subject, groups=groups, request=request
            )
            memberships_follow_groups(
                user=user,
                source=ExternalSource.OIDC,
                groups=groups,
                method=SignOnMethod.OIDC,
                request=request,
            )
        request.signon_method = SignOnMethod.OIDC
        request.signon_groups = groups
        return user

    def _user_for(self, subject: str, claims: dict):
        from .models import DirectoryAccount

        account = (
            DirectoryAccount.objects.select_related("user")
            .filter(source=ExternalSource.OIDC, subject=subject)
            .first()
        )
        fields = {
            "email": (claims.get("email") or "")[:254],
            "first_name": (claims.get("given_name") or "")[:150],
            "last_name": (claims.get("family_name") or "")[:150],
        }
        if account is not None:
            user = account.user
            changed = [name for name, value in fields.items() if value and getattr(user, name) != value]
            for name in changed:
                setattr(user, name, fields[name])
            if changed:
                user.save(update_fields=changed)
            return user
        wanted = str(claims.get(settings.OIDC_USERNAME_CLAIM) or claims["sub"])[:150]
        username = wanted
        if self.UserModel.objects.filter(username__iexact=username).exists():
            username = "oidc-" + hashlib.sha256(subject.encode()).hexdigest()[:16]
        user = self.UserModel(username=username, is_staff=False, is_superuser=False, **fields)
        user.set_unusable_password()
        user.save()
        return user

    def get_user(self, user_id):
        user = get_user_model().objects.select_related("directory_account").filter(pk=user_id).first()
        if user is None or not user.is_active:
            return None
        account = directory_account_of(user)
        if account is not None and account.disabled:
            return None
        return user

    def has_perm(self, user, perm, obj=None):
        return False
