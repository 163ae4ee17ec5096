"""End-to-end journeys: Playwright drives Debian's Chromium (headless) against pytest-django's live server.

The live server runs the app in a thread on the test database (``transactional_db``, so the browser, the test
and the Celery worker subprocesses all see committed rows). Scoring happens in a real worker: the
``private_broker`` and ``workers`` fixtures come from tests/scoring/conftest.py.

Screenshots and downloads go to ``$SCORECARD_ARTIFACTS`` (default ``test-artifacts/`` at the repository root,
git-ignored), one folder per test, so a person can look at what each journey showed.

No browser is downloaded: Playwright launches the system Chromium (``$SCORECARD_CHROMIUM``, default
/usr/bin/chromium), which Debian's ``chromium`` package installs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from tests.scoring.conftest import private_broker, workers  # noqa: F401  (re-declared for these tests)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SCORECARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000  # one page action or assertion; the live server is a single machine's thread
PASSWORD = "e2e-Journey-pw-0427"


@pytest.fixture(scope="session")
def artifacts_root() -> Path:
    root = Path(os.environ.get("SCORECARD_ARTIFACTS") or ROOT / "test-artifacts")
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def artifacts(artifacts_root, request) -> Path:
    """This test's folder for screenshots and downloads (emptied first, so it shows only this run)."""
    folder = artifacts_root / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    return folder


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:
    """Headless Chromium for one test.

    Playwright's sync API keeps an asyncio event loop running in the main thread (it switches greenlets
    around it), so Django sees "an async context" and refuses ORM calls from the test body with
    SynchronousOnlyOperation. The test's ORM calls are plain blocking calls on the main thread, which is
    safe; DJANGO_ALLOW_ASYNC_UNSAFE lifts the check only while the browser is open (monkeypatch restores
    the environment afterwards, so the rest of the suite keeps Django's check).
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser, live_server) -> Callable[..., Page]:
    """A page in a fresh browser context (own cookies) with the given locale, on the live server."""
    contexts: list[BrowserContext] = []

    def _new(locale: str = "zh-CN") -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
            viewport={"width": 1360, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    expect.set_options(timeout=TIMEOUT_MS)
    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def shot(artifacts) -> Callable[[Page | Locator, str], Path]:
    """Save a screenshot, numbered in the order taken: the full page (``shot(page, "login")``) or one
    element (``shot(page.locator(".score-panel"), "score-panel")``), which is easier to read."""
    taken = [0]

    def _shot(target: Page | Locator, name: str) -> Path:
        taken[0] += 1
        path = artifacts / f"{taken[0]:02d}-{name}.png"
        if isinstance(target, Page):
            target.screenshot(path=str(path), full_page=True)
        else:
            target.screenshot(path=str(path))
        return path

    return _shot


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the admin login form (and the second factor when asked) and land on the admin index."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form [type=submit]")
    second_factor(page, username)
    expect(page.locator("#user-tools")).to_be_visible()


def enrol_second_factor(user):
    """The user has set up an authenticator app, as a superuser or manager with a local password must
    (partnerships.signon): a confirmed TOTP device, whose codes ``second_factor`` types as the user would."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.get_or_create(user=user, name="authenticator", defaults={"confirmed": True})[0]


def second_factor(page: Page, username: str) -> None:
    """After the password: when the page asks for the second factor, give the code the user's app shows now."""
    page.wait_for_selector("#user-tools, #signon-verify-form, #signon-enrol-form")
    if page.locator("#signon-enrol-form").count():
        raise AssertionError(f"{username} has no second factor set up: call enrol_second_factor(user) first")
    if page.locator("#signon-verify-form").count():
        page.fill("#id_code", authenticator_code(username))
        page.click("#signon-verify-form [type=submit]")


def authenticator_code(username: str) -> str:
    """The code the user's authenticator shows, one the device has not accepted yet (django-otp refuses a code
    twice, and a test may sign the same user in twice within 30 seconds): this step's or, within the device's
    tolerance, the next one's; else wait for the next step."""
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from partnerships.signon.services.second_factor import totp_code_for

    device = TOTPDevice.objects.get(user__username=username, name="authenticator", confirmed=True)
    for _attempt in range(40):
        device.refresh_from_db()
        now = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
        for offset in range(device.tolerance + 1):
            if now + offset > device.last_t:
                return totp_code_for(device, offset)
        time.sleep(1)
    raise AssertionError(f"no fresh code for {username}'s authenticator")
