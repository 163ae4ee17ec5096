"""The admin's login form (a clear message when the directory is down, "no access yet" for a directory user with
no role) and the second-factor forms."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .backends import DIRECTORY_UNREACHABLE_MESSAGE
from .services.accounts import directory_account_of

NO_ACCESS_SESSION = "signon_no_access"


class SignOnAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if (
                getattr(self.request, "signon_directory_error", None) is not None
                and error.code == "invalid_login"
            ):
                raise ValidationError(DIRECTORY_UNREACHABLE_MESSAGE, code="directory_unreachable") from error
            raise

    def confirm_login_allowed(self, user):
        account = directory_account_of(user)
        if account is not None and user.is_active and not user.is_staff:
            no_access_remember(self.request, user, account.source, account.groups)
            raise ValidationError(_("No access yet."), code="no_access")
        super().confirm_login_allowed(user)


def no_access_remember(request, user, method: str, groups: list[str]) -> None:
    """What the "no access yet" page shows: who signed in, how, and the groups the directory gave."""
    from .models import SignOnEventKind
    from .services.audit import signon_event_record

    request.session[NO_ACCESS_SESSION] = {
        "username": user.get_username(),
        "method": method,
        "groups": list(groups),
    }
    request.signon_no_access = True
    signon_event_record(
        kind=SignOnEventKind.NO_ACCESS,
        request=request,
        user=user,
        method=method,
        detail="groups: " + ", ".join(groups) if groups else "no groups",
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "numeric"}
        ),
    )
