"""Pages of sign-on under /admin/signon/: the second factor (verify, enrol, recovery codes), "no access yet", the
OIDC start and callback; and the admin's login wrapped to send a directory user with no role to "no access yet"."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from ..errors import Invalid
from .conf import oidc_enabled
from .forms import NO_ACCESS_SESSION, CodeForm, EnrolForm, no_access_remember
from .middleware import PENDING
from .models import SignOnMethod
from .receivers import SESSION_METHOD
from .services.accounts import directory_account_of
from .services.second_factor import (
    enrolment_confirm,
    enrolment_device,
    manual_key,
    qr_svg,
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_verify,
    totp_device,
)

CODES_SESSION = "signon_recovery_codes"


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, "subtitle": None, **extra}


def _next(request) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


# --- the admin's login ------------------------------------------------------------------------------------------


def admin_login(site: AdminSite, request, extra_context=None):
    """AdminSite.login with the identity provider's button, and "no access yet" for a directory user with no role."""
    context = {
        "signon_oidc": oidc_enabled(),
        "signon_oidc_url": reverse("signon:oidc-start") + "?" + urlencode({"next": _next(request)}),
        **(extra_context or {}),
    }
    response = AdminSite.login(site, request, context)
    if getattr(request, "signon_no_access", False):
        return HttpResponseRedirect(reverse("signon:no-access"))
    return response


@never_cache
def no_access(request):
    info = request.session.get(NO_ACCESS_SESSION) or {}
    return render(
        request,
        "signon/no_access.html",
        _context(
            request,
            _("No access yet"),
            who=info.get("username", ""),
            method=dict(SignOnMethod.choices).get(info.get("method", ""), ""),
            groups=info.get("groups", []),
        ),
    )


# --- the second factor -----------------------------------------------------------------------------------------


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def verify(request):
    user = request.user
    if totp_device(user) is None:
        return HttpResponseRedirect(reverse("signon:enrol") + "?" + urlencode({"next": _next(request)}))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor_verify(user=user, code=form.cleaned_data["code"], request=request)
        if device is not None:
            otp_login(request, device)
            request.session.pop(PENDING, None)
            if device.name == "recovery":
                messages.warning(
                    request,
                    _("You used a recovery code; %(left)s left. Make new ones on your second-factor page.")
                    % {"left": recovery_codes_left(user)},
                )
            return HttpResponseRedirect(_next(request))
        form.add_error("code", _("That code is not right."))
    return render(
        request, "signon/verify.html", _context(request, _("Second factor"), form=form, next=_next(request))
    )


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def enrol(request):
    user = request.user
    if directory_account_of(user) is not None:
        raise Http404  # directory and OIDC users: their directory or identity provider applies its own policy
    if totp_device(user) is not None and not user.is_verified():
        return HttpResponseRedirect(reverse("signon:verify") + "?" + urlencode({"next": _next(request)}))
    if totp_device(user) is not None and request.method == "GET":
        return HttpResponseRedirect(reverse("signon:status"))
    device = enrolment_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = enrolment_confirm(
                user=user, device=device, code=form.cleaned_data["code"], request=request
            )
        except Invalid as error:
            for field, problems in error.fields.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            device.refresh_from_db()
            otp_login(request, device)
            request.session.pop(PENDING, None)
            request.session[CODES_SESSION] = codes
            return HttpResponseRedirect(
                reverse("signon:recovery-codes") + "?" + urlencode({"next": _next(request)})
            )
    return render(
        request,
        "signon/enrol.html",
        _context(
            request,
            _("Set up your second factor"),
            form=form,
            qr_svg=qr_svg(device),
            manual_key=manual_key(device),
            next=_next(request),
        ),
    )


@never_cache
@login_required(login_url="admin:login")
def recovery_codes(request):
    """The recovery codes, once: they are taken out of the session as the page is shown."""
    codes = request.session.pop(CODES_SESSION, None)
    if not codes:
        return HttpResponseRedirect(reverse("signon:status"))
    return render(
        request,
        "signon/recovery_codes.html",
        _context(request, _("Your recovery codes"), codes=codes, next=_next(request)),
    )


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def status(request):
    """Your second factor: set up or not, recovery codes left, and new recovery codes (which need a verified
    session)."""
    user = request.user
    if directory_account_of(user) is not None:
        raise Http404
    device = totp_device(user)
    if request.method == "POST":
        if device is None or not user.is_verified():
            return HttpResponseRedirect(reverse("signon:verify") + "?next=" + reverse("signon:status"))
        request.session[CODES_SESSION] = recovery_codes_regenerate(user=user)
        return HttpResponseRedirect(reverse("signon:recovery-codes"))
    return render(
        request,
        "signon/status.html",
        _context(
            request,
            _("Second factor"),
            device=device,
            codes_left=recovery_codes_left(user) if device else 0,
            verified=user.is_verified(),
        ),
    )


# --- OIDC ------------------------------------------------------------------------------------------------------


class OIDCStartView(OIDCAuthenticationRequestView):
    """Off (404) unless the identity provider is configured."""

    def __init__(self, *args, **kwargs):
        if oidc_enabled():
            super().__init__(*args, **kwargs)

    def get(self, request):
        if not oidc_enabled():
            raise Http404
        return super().get(request)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not oidc_enabled():
            raise Http404
        return super().get(request)

    def login_failure(self):
        shown = getattr(self.request, "signon_failure_shown", None)
        message = _("Sign-in with the bank's identity provider failed; try again, or ask your administrator.")
        messages.error(self.request, f"{message} {shown}" if shown else message)
        return HttpResponseRedirect(reverse("admin:login"))

    def login_success(self):
        user = self.user
        if not user.is_staff:
            account = directory_account_of(user)
            no_access_remember(self.request, user, SignOnMethod.OIDC, account.groups if account else [])
            return HttpResponseRedirect(reverse("signon:no-access"))
        login(self.request, user, backend="partnerships.signon.backends.IdentityProviderBackend")
        self.request.session[SESSION_METHOD] = SignOnMethod.OIDC
        self.request.session.set_expiry(settings.SIGNON_OIDC_SESSION_SECONDS)
        return HttpResponseRedirect(self.success_url)
