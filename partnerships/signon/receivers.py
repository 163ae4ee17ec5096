"""Django's sign-in signals into the audit and the second-factor gate (connected in PartnershipsConfig.ready)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .middleware import PENDING
from .models import SignOnEventKind, SignOnMethod
from .services.audit import signon_event_record

SESSION_METHOD = "signon_method"


@receiver(user_logged_in, dispatch_uid="signon-logged-in")
def on_logged_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    method = getattr(request, "signon_method", None)
    if method is None:
        return  # a session made without a sign-in (the test client's force_login): nothing to record or gate
    session = getattr(request, "session", None)
    detail = ""
    if session is not None:
        session[SESSION_METHOD] = method
        if method == SignOnMethod.LOCAL:
            from .services.second_factor import second_factor_required

            if second_factor_required(user):
                session[PENDING] = True
                detail = "password accepted; second factor pending"
    groups = getattr(request, "signon_groups", None)
    if groups is not None:
        detail = "groups: " + ", ".join(groups) if groups else "no groups"
    signon_event_record(
        kind=SignOnEventKind.SIGNED_IN, request=request, user=user, method=method, detail=detail
    )


@receiver(user_login_failed, dispatch_uid="signon-login-failed")
def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username") or "")
    method, reason = getattr(request, "signon_failure", None) or (
        SignOnMethod.LOCAL,
        "wrong username or password",
    )
    kind = SignOnEventKind.SIGN_IN_FAILED
    if reason.startswith("directory unreachable"):
        kind = SignOnEventKind.DIRECTORY_UNREACHABLE
    if request is not None and getattr(request, "_signon_failure_recorded", False):
        return
    signon_event_record(kind=kind, request=request, username=username, method=method, detail=reason)
    if request is not None:
        request._signon_failure_recorded = True
