"""Fixtures of the sign-on tests: a real slapd and a real OIDC provider for the session, and the settings that
point Scorecard at them — built from LDAP_* / OIDC_* variables by config/settings/signon.py, as in production."""

from __future__ import annotations

import pytest

from config.settings.signon import ldap_settings, oidc_settings
from tests.e2e.conftest import artifacts, artifacts_root, browser, new_page, shot  # noqa: F401  (re-declared)
from tests.factories import BankFactory
from tests.signon.directory import Slapd
from tests.signon.identity import Provider


@pytest.fixture(scope="session")
def directory():
    slapd = Slapd().start()
    try:
        slapd.seed()
        yield slapd
    finally:
        slapd.cleanup()


@pytest.fixture
def use_directory(settings, directory):
    """Scorecard signs in against the test directory (and re-checks accounts at every request)."""

    def _use(**extra: str):
        for name, value in ldap_settings(directory.settings_env(**extra)).items():
            setattr(settings, name, value)
        settings.SIGNON_DIRECTORY_CHECK_SECONDS = 0
        return directory

    return _use


@pytest.fixture(scope="session")
def provider():
    running = Provider().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def use_provider(settings, provider, live_server):
    """Scorecard (the live server) signs in through the test provider, registered with its callback address."""
    provider.set_fault("")
    provider.register(f"{live_server.url}/admin/signon/oidc/callback/")
    for name, value in oidc_settings(provider.settings_env()).items():
        setattr(settings, name, value)
    yield provider
    provider.set_fault("")


@pytest.fixture
def banks(db):
    return {
        "A": BankFactory(code="sso-a", name_zh_hans="单点甲行", name_en="SSO Bank A"),
        "B": BankFactory(code="sso-b", name_zh_hans="单点乙行", name_en="SSO Bank B"),
    }
