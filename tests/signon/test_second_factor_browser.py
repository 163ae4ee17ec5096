"""A local manager sets up the second factor in headless Chromium, in Chinese: the password, the set-up page (QR
code and the key typed by hand into an authenticator, computed here from that key as an app would), the recovery
codes shown once, then the admin; the next sign-in asks for a code."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]

PASSWORD = "browser-manager-test-pw"


def _app_code(typed_key: str) -> str:
    """What an authenticator app shows for a key typed by hand (RFC 6238: SHA-1, 30 s, six digits)."""
    key = typed_key.replace(" ", "")
    return f"{TOTP(base64.b32decode(key + '=' * (-len(key) % 8))).token():06d}"


def test_a_manager_sets_up_the_second_factor_in_the_browser(banks, live_server, new_page, shot):
    manager = UserFactory(username="browser_manager", password=None)
    manager.set_password(PASSWORD)
    manager.save()
    MembershipFactory(user=manager, bank=banks["A"], role="manager")

    page = new_page("zh-CN")
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "browser_manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form [type=submit]")
    expect(page.locator("#signon-enrol-form")).to_be_visible()
    expect(page.locator("#content h1")).to_have_text("设置第二重验证")
    expect(page.locator("#signon-qr svg")).to_be_visible()
    shot(page, "enrol")
    key = page.locator("#signon-manual-key").inner_text()
    page.fill("#id_code", _app_code(key))
    page.click("#signon-enrol-form [type=submit]")

    codes = page.locator("#signon-codes li")
    expect(codes).to_have_count(10)
    kept = codes.all_inner_texts()  # what the person writes down
    assert all(re.fullmatch(r"[0-9a-f]{6}-[0-9a-f]{6}", text) for text in kept)
    shot(page, "recovery-codes")
    page.click("#signon-continue")
    expect(page.locator("#user-tools")).to_be_visible()

    again = new_page("zh-CN")
    again.goto("/admin/login/?next=/admin/")
    again.fill("#id_username", "browser_manager")
    again.fill("#id_password", PASSWORD)
    again.click("#login-form [type=submit]")
    expect(again.locator("#signon-verify-form")).to_be_visible()
    shot(again, "verify")
    again.fill("#id_code", kept[0])  # a recovery code
    again.click("#signon-verify-form [type=submit]")
    expect(again.locator("#user-tools")).to_be_visible()
    expect(again.locator(".messagelist .warning")).to_contain_text("还剩 9 个")
