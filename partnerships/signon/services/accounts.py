"""Directory accounts: linked at each directory or OIDC sign-in, re-checked against the directory when stale, and
disabled with the directory — which makes the user inactive (sessions end, tokens stop) and deletes their tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from ...api.token_cache import token_cache_forget
from ..conf import directory_check_seconds
from ..models import DirectoryAccount, ExternalSource, SignOnEventKind
from .audit import signon_event_record


def directory_account_of(user) -> DirectoryAccount | None:
    if user is None or not getattr(user, "pk", None):
        return None
    try:
        return user.directory_account
    except DirectoryAccount.DoesNotExist:
        return None


def is_local_account(user) -> bool:
    return directory_account_of(user) is None


def local_account_holds(username: str) -> bool:
    """Whether a local account (one with no directory account) already has this username."""
    user_model = get_user_model()
    return user_model.objects.filter(
        **{f"{user_model.USERNAME_FIELD}__iexact": username}, directory_account__isnull=True
    ).exists()


@transaction.atomic
def directory_account_link(
    *, user, source: str, subject: str, groups: list[str], request=None
) -> DirectoryAccount:
    """Record (or refresh) the user's directory account after a successful directory or OIDC sign-in.

    A user the directory had disabled is active again once the directory lets them sign in; a user deactivated
    by hand (with no directory flag) never reaches here: the backends refuse inactive users first.
    """
    account, _created = DirectoryAccount.objects.select_for_update().get_or_create(
        user=user, defaults={"source": source, "subject": subject, "groups": groups}
    )
    was_disabled = account.disabled
    account.source, account.subject, account.groups = source, subject, list(groups)
    account.disabled = False
    account.checked_at = timezone.now()
    account.save()
    if was_disabled and not user.is_active:
        get_user_model().objects.filter(pk=user.pk).update(is_active=True)
        token_cache_forget(user_id=user.pk)  # update() sends no signal
        user.is_active = True
        signon_event_record(kind=SignOnEventKind.ACCOUNT_ENABLED, request=request, user=user, method=source)
    user.directory_account = account
    return account


@transaction.atomic
def directory_account_disable(*, account: DirectoryAccount, reason: str, request=None) -> None:
    """The directory says the account is disabled or gone: the user becomes inactive and loses their API tokens."""
    user = account.user
    DirectoryAccount.objects.filter(pk=account.pk).update(disabled=True, checked_at=timezone.now())
    account.disabled = True
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    token_cache_forget(user_id=user.pk)  # update() sends no signal (the tokens' deletion below does)
    user.is_active = False
    tokens, _detail = Token.objects.filter(user_id=user.pk).delete()
    signon_event_record(
        kind=SignOnEventKind.ACCOUNT_DISABLED,
        request=request,
        user=user,
        method=account.source,
        detail=f"{reason}; {tokens} API token(s) deleted",
    )


def directory_account_is_stale(account: DirectoryAccount) -> bool:
    return account.checked_at < timezone.now() - timedelta(seconds=directory_check_seconds())


def directory_account_recheck(*, account: DirectoryAccount, request=None) -> bool:
    """Ask the directory again about a stale LDAP account; False when it is disabled (now or already).

    OIDC accounts cannot be asked without the user: their sessions end after SIGNON_OIDC_SESSION_SECONDS and the
    identity provider decides at the next sign-in. When the directory cannot be reached the last answer stands
    (and the next request tries again): an outage of the directory does not lock every directory user out.
    """
    if account.disabled:
        return False
    if account.source != ExternalSource.LDAP or not directory_account_is_stale(account):
        return True
    from ..conf import ldap_enabled

    if not ldap_enabled():
        return (
            True  # LDAP turned off (break-glass, docs/sign-on.md): nothing to ask; no new LDAP sign-in either
        )
    from ..backends import DirectoryUnreachable, directory_lookup

    try:
        found = directory_lookup(account.user.get_username())
    except DirectoryUnreachable as exc:
        signon_event_record(
            kind=SignOnEventKind.DIRECTORY_UNREACHABLE,
            request=request,
            user=account.user,
            method=ExternalSource.LDAP,
            detail=f"re-check skipped: {exc}",
        )
        DirectoryAccount.objects.filter(pk=account.pk).update(checked_at=timezone.now())
        token_cache_forget(user_id=account.user_id)  # update() sends no signal
        return True
    if found is None or found[0].lower() != account.subject.lower():
        directory_account_disable(
            account=account,
            reason="not found by the directory's user search (disabled or removed)",
            request=request,
        )
        return False
    _dn, groups = found
    from .mapping import memberships_follow_groups

    memberships_follow_groups(
        user=account.user,
        source=ExternalSource.LDAP,
        groups=groups,
        method=ExternalSource.LDAP,
        request=request,
    )
    DirectoryAccount.objects.filter(pk=account.pk).update(checked_at=timezone.now(), groups=groups)
    token_cache_forget(user_id=account.user_id)  # update() sends no signal
    return True
