"""The API's token sign-in: what sign-on adds to ``POST /api/v1/auth/token/`` (config/api.py) and to each request
made with a token (partnerships/api/authentication.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ...errors import Invalid
from ..models import SignOnEventKind, SignOnMethod
from .accounts import directory_account_of, directory_account_recheck
from .audit import signon_event_record
from .second_factor import token_second_factor_check


def token_sign_in_check(*, request, user, otp_token: str | None) -> None:
    """After the password: a directory user with no role gets no token; a local account that needs a second
    factor sends its code as ``otp_token``. Raises Invalid (400 with the field's message)."""
    method = getattr(request, "signon_method", SignOnMethod.LOCAL)
    if directory_account_of(user) is not None and not user.is_staff:
        signon_event_record(
            kind=SignOnEventKind.TOKEN_REFUSED,
            request=request,
            user=user,
            method=method,
            detail="no access yet",
        )
        raise Invalid(
            _(
                "You signed in, but none of your directory groups gives you a role in any bank yet. Ask your "
                "Scorecard administrator to map one of your groups."
            ),
            code="no_access",
        )
    try:
        token_second_factor_check(request=request, user=user, code=otp_token)
    except Invalid:
        signon_event_record(
            kind=SignOnEventKind.TOKEN_REFUSED,
            request=request,
            user=user,
            method=method,
            detail="second factor missing or wrong",
        )
        raise


def token_issued_record(*, request, user, created: bool) -> None:
    method = getattr(request, "signon_method", SignOnMethod.LOCAL)
    signon_event_record(kind=SignOnEventKind.SIGNED_IN, request=request, user=user, method=method)
    if created:
        signon_event_record(kind=SignOnEventKind.TOKEN_CREATED, request=request, user=user, method=method)


def token_user_allowed(user) -> bool:
    """For each request with a token: a directory account disabled in the directory (already known, or found so
    by a re-check once its last check is older than SIGNON_DIRECTORY_CHECK_SECONDS) is refused."""
    account = directory_account_of(user)
    if account is None:
        return True
    return directory_account_recheck(account=account)
