"""The second factor for local accounts: required for superusers and managers who sign in with a password kept
here, set up with a QR code or a typed key, recovery codes shown once, and the API's token sign-in asks for it too.
Analysts are not asked; sessions made without a password (the test client's force_login) are not gated."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from partnerships.models import SignOnEvent
from partnerships.signon.services.second_factor import recovery_codes_left, totp_code_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "local-manager-test-pw"
TOKEN_URL = "/api/v1/auth/token/"


def _local(username: str, bank, role: str | None = None, **extra):
    user = UserFactory(username=username, password=None, **extra)
    user.set_password(PASSWORD)
    user.save()
    if role:
        MembershipFactory(user=user, bank=bank, role=role)
    return user


def _sign_in(client, username, language="en"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": PASSWORD, "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_a_local_manager_sets_up_the_second_factor_then_uses_it_and_a_recovery_code(banks):
    manager = _local("local_manager", banks["A"], "manager")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert _sign_in(client, "local_manager", "zh-hans").status_code == 302
    # Signed in with the password only: every admin page sends to the set-up page, the API answers 403.
    held = client.get("/admin/partnerships/initiative/")
    assert held.status_code == 302 and held["Location"].startswith(reverse("signon:enrol"))
    api = client.get("/api/v1/banks/", HTTP_ACCEPT="application/json")
    assert api.status_code == 403 and api.json()["error"]["code"] == "second_factor_required"

    page = client.get(held["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "设置第二重验证" in html
    key = re.search(r'id="signon-manual-key"[^>]*>([A-Z2-7 ]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    import base64

    assert base64.b32decode(key.replace(" ", "") + "=" * (-len(key.replace(" ", "")) % 8)) == device.bin_key

    wrong = client.post(held["Location"], {"code": "000000"})
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    done = client.post(held["Location"], {"code": totp_code_for(device)})
    assert done.status_code == 302 and done["Location"].startswith(reverse("signon:recovery-codes"))
    shown = client.get(done["Location"]).content.decode()
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", shown)
    assert len(codes) == 10
    again = client.get(reverse("signon:recovery-codes"))  # shown once
    assert again.status_code == 302 and codes[0] not in client.get(again["Location"]).content.decode()
    assert client.get("/admin/partnerships/initiative/").status_code == 200

    # The next sign-in asks for the code; a recovery code works once.
    second = Client()
    assert _sign_in(second, "local_manager").status_code == 302
    held = second.get("/admin/")
    assert held.status_code == 302 and held["Location"].startswith(reverse("signon:verify"))
    assert second.post(held["Location"], {"code": "123456"}).status_code == 200
    used = second.post(held["Location"], {"code": codes[0]})
    assert used.status_code == 302 and second.get("/admin/").status_code == 200
    assert recovery_codes_left(manager) == 9
    third = Client()
    _sign_in(third, "local_manager")
    assert third.post(reverse("signon:verify"), {"code": codes[0]}).status_code == 200  # used up
    kinds = set(SignOnEvent.objects.filter(user=manager).values_list("kind", flat=True))
    assert {"signed_in", "second_factor_enrolled", "second_factor_failed", "recovery_code_used"} <= kinds


def test_superusers_are_asked_and_analysts_are_not(banks):
    _local("local_root", banks["A"], is_superuser=True)
    _local("local_analyst", banks["A"], "analyst")
    root = Client()
    _sign_in(root, "local_root")
    assert root.get("/admin/")["Location"].startswith(reverse("signon:enrol"))
    analyst = Client()
    _sign_in(analyst, "local_analyst")
    assert analyst.get("/admin/").status_code == 200


def test_the_api_token_of_a_local_manager_needs_the_code(banks):
    manager = _local("api_manager", banks["A"], "manager")
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    not_set_up = api.post(TOKEN_URL, {"username": "api_manager", "password": PASSWORD}, format="json")
    assert not_set_up.status_code == 400 and "otp_token" in not_set_up.json()["error"]["fields"]
    device = TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    missing = api.post(TOKEN_URL, {"username": "api_manager", "password": PASSWORD}, format="json")
    assert missing.status_code == 400 and "authenticator" in missing.json()["error"]["fields"]["otp_token"][0]
    wrong = api.post(
        TOKEN_URL, {"username": "api_manager", "password": PASSWORD, "otp_token": "000000"}, format="json"
    )
    assert wrong.status_code == 400
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp slows down guessing; this test is not about that
    device.throttling_failure_timestamp = None
    device.save()
    right = api.post(
        TOKEN_URL,
        {"username": "api_manager", "password": PASSWORD, "otp_token": totp_code_for(device)},
        format="json",
    )
    assert right.status_code == 200 and right.json()["token"]
    events = set(SignOnEvent.objects.filter(user=manager, channel="api").values_list("kind", flat=True))
    assert {"token_refused", "token_created", "signed_in", "second_factor_passed"} <= events


def test_force_login_sessions_are_not_gated(banks):
    """The test client's force_login makes a session without any sign-in, so there is no password step for a
    second factor to follow; every real sign-in goes through LocalPasswordBackend, which sets the gate."""
    manager = _local("forced_manager", banks["A"], "manager")
    client = Client()
    client.force_login(manager)
    assert client.get("/admin/").status_code == 200


def test_a_superuser_resets_a_second_factor_in_the_admin(banks):
    manager = _local("reset_manager", banks["A"], "manager")
    TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    root = UserFactory(username="reset_root", is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)
    device = TOTPDevice.objects.get(user=manager)
    listing = client.get(reverse("admin:partnerships_secondfactor_changelist"))
    assert listing.status_code == 200 and "reset_manager" in listing.content.decode()
    url = reverse("admin:partnerships_secondfactor_delete", args=[device.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert SignOnEvent.objects.filter(
        user=manager, kind="second_factor_reset", detail="by reset_root"
    ).exists()
    # Members never see the second factors.
    member = Client()
    member.force_login(manager)
    assert member.get(reverse("admin:partnerships_secondfactor_changelist")).status_code == 403
