"""The second-factor gate: a session that signed in with a local password and needs a second factor reaches
nothing but the second-factor pages (and signing out) until a code is given.

The gate is keyed to a flag the sign-in itself sets (``receivers.on_logged_in``, when LocalPasswordBackend checked
a password over HTTP), so every password sign-in door is gated — the admin's login page, the browsable API's —
while sessions made without a password (the test client's ``force_login``) are not: there is no password step
for a second factor to follow, and nothing in production makes a session without one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

PENDING = "signon_second_factor_pending"


def _open_paths() -> tuple[str, ...]:
    return (
        reverse("signon:verify"),
        reverse("signon:enrol"),
        reverse("signon:recovery-codes"),
        reverse("admin:logout"),
        reverse("admin:jsi18n"),
        "/i18n/",
        "/" + settings.STATIC_URL.lstrip("/"),
    )


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(PENDING):
            response = self._gate(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _gate(self, request):
        user = request.user
        if not user.is_authenticated:
            return None
        if user.is_verified():
            request.session.pop(PENDING, None)
            return None
        path = request.path
        if path.startswith(_open_paths()):
            return None
        if path.startswith("/api/"):
            message = _("Finish signing in with your second factor in the admin first.")
            return JsonResponse(
                {"error": {"status": 403, "code": "second_factor_required", "message": message}}, status=403
            )
        from .services.second_factor import totp_device

        target = "signon:verify" if totp_device(user) is not None else "signon:enrol"
        return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
