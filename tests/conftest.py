"""Shared fixtures: the seed taxonomy, two banks with a user per role, and a service check.

Tests run against real services. When REDIS_URL or a PostgreSQL DATABASE_URL is configured but not
reachable, the run fails at once rather than skipping tests.
"""

import os

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.factories import BankFactory, MembershipFactory, UserFactory


def pytest_sessionstart(session) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
        except Exception as exc:  # any failure to reach it is fatal, never a skip
            pytest.exit(f"REDIS_URL={redis_url} is set but Redis is unreachable: {exc}", returncode=3)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        import psycopg

        try:
            psycopg.connect(
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except Exception as exc:
            pytest.exit(f"DATABASE_URL points at PostgreSQL but it is unreachable: {exc}", returncode=3)


@pytest.fixture
def taxonomy(db):
    """The seed's pillars and scenario types, loaded as seed_demo loads them."""
    call_command("loaddata", "taxonomy", verbosity=0)


@pytest.fixture
def two_banks(db, taxonomy):
    """Bank A and bank B, each with a viewer, an analyst and a manager (all staff)."""
    banks = {
        "A": BankFactory(code="bank-a", name_zh_hans="甲银行", name_en="Bank A"),
        "B": BankFactory(code="bank-b", name_zh_hans="乙银行", name_en="Bank B"),
    }
    users = {}
    for label, bank in banks.items():
        for role in ("viewer", "analyst", "manager"):
            user = UserFactory(username=f"{role}_{label.lower()}")
            MembershipFactory(user=user, bank=bank, role=role)
            users[(label, role)] = user
    return banks, users


def pytest_sessionfinish(session, exitstatus) -> None:
    """A skipped test is a failure, here as in CI: every test runs against the real services, or the run fails."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(
            f"{skipped} test(s) skipped; every test must run against the real services.", red=True
        )
        session.exitstatus = 1


@pytest.fixture
def client_for(client):
    """Log the test client in as the given user (force_login; the password path is tested separately)."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
