"""Single sign-on through the bank's identity provider: a real OIDC provider (django-oauth-toolkit, its own
process) and headless Chromium through the whole authorization-code flow with PKCE; forged and expired ID tokens
are refused; a user with no mapped group gets "no access yet"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from partnerships.models import DirectoryAccount, Membership, SignOnEvent
from partnerships.signon.services.mapping import group_mapping_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]

PASSWORD = "provider-user-test-pw"


def _through_the_provider(page, username: str, seen: list[str]):
    page.on("request", lambda request: seen.append(request.url))
    page.goto("/admin/login/?next=/admin/")
    page.locator("#signon-oidc-button").click()
    page.fill("#provider-username", username)
    page.fill("#provider-password", PASSWORD)
    page.click("#provider-submit")


def test_sign_in_with_the_identity_provider_maps_groups_and_uses_pkce(
    use_provider, banks, live_server, new_page, shot
):
    use_provider.register(
        f"{live_server.url}/admin/signon/oidc/callback/",
        ("olivia", PASSWORD, ["scorecard-analysts", "other"]),
    )
    group_mapping_create(source="oidc", group="scorecard-analysts", bank="sso-a", role="analyst")
    page = new_page("zh-CN")
    page.goto("/admin/login/")
    expect(page.locator("#signon-oidc-button")).to_have_text("使用本行身份认证登录")
    shot(page, "login-with-idp-button")
    seen: list[str] = []
    _through_the_provider(page, "olivia", seen)
    expect(page.locator("#user-tools")).to_be_visible()
    shot(page, "signed-in-through-idp")

    authorize = next(url for url in seen if "/o/authorize/" in url)
    query = parse_qs(urlsplit(authorize).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43 and query["nonce"][0] and query["state"][0]
    assert "groups" in query["scope"][0].split()

    user = get_user_model().objects.get(username="olivia")
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (True, False, False)
    assert dict(Membership.objects.filter(user=user).values_list("bank__code", "role")) == {
        "sso-a": "analyst"
    }
    account = DirectoryAccount.objects.get(user=user)
    assert account.source == "oidc" and account.subject.startswith(use_provider.issuer + " ")
    assert account.groups == ["other", "scorecard-analysts"]
    assert SignOnEvent.objects.filter(user=user, kind="signed_in", method="oidc").exists()
    assert SignOnEvent.objects.filter(
        user=user, kind="role_granted", method="oidc", bank_code="sso-a"
    ).exists()


@pytest.mark.parametrize(
    ("fault", "shown", "audited"),
    [
        ("forged", "不是用其密钥签名的", "signature is not valid"),
        ("expired", "已过期", "has expired"),
    ],
)
def test_a_forged_or_expired_id_token_is_refused(
    use_provider, banks, live_server, new_page, shot, fault, shown, audited
):
    use_provider.register(
        f"{live_server.url}/admin/signon/oidc/callback/", ("mallory", PASSWORD, ["scorecard-analysts"])
    )
    group_mapping_create(source="oidc", group="scorecard-analysts", bank="sso-a", role="analyst")
    use_provider.set_fault(fault)
    page = new_page("zh-CN")
    _through_the_provider(page, "mallory", [])
    expect(page.locator(".messagelist .error")).to_contain_text(shown)
    expect(page.locator("#login-form")).to_be_visible()
    shot(page, f"refused-{fault}")
    assert not get_user_model().objects.filter(username="mallory").exists()
    failed = SignOnEvent.objects.get(kind="sign_in_failed", method="oidc")
    assert audited in failed.detail and failed.channel == "admin"


def test_no_mapped_group_gets_no_access_yet(use_provider, banks, live_server, new_page, shot):
    use_provider.register(
        f"{live_server.url}/admin/signon/oidc/callback/", ("nina", PASSWORD, ["unmapped-group"])
    )
    page = new_page("en-US")
    _through_the_provider(page, "nina", [])
    expect(page.locator("h1")).to_have_text("No access yet")
    expect(page.locator("#signon-groups")).to_contain_text("unmapped-group")
    shot(page, "no-access-yet")
    user = get_user_model().objects.get(username="nina")
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert not Membership.objects.filter(user=user).exists()
    page.goto("/admin/")
    expect(page.locator("#login-form")).to_be_visible()  # not signed in


def test_the_button_shows_only_when_an_identity_provider_is_configured(db):
    page = Client().get("/admin/login/").content.decode()
    assert "signon-oidc-button" not in page
    assert Client().get("/admin/signon/oidc/start/").status_code == 404
