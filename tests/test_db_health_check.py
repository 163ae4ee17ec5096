"""The PostgreSQL health check (config/db/postgresql/base.py): no round trip on a quiet connection, and a
session the server ended is still found and replaced before the next query, as with Django's ``SELECT 1``."""

from __future__ import annotations

import time
from unittest import mock

import psycopg
import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.fail("these tests need PostgreSQL (DATABASE_URL)")


def _sent_statements(raw) -> mock.MagicMock:
    """A spy on the psycopg connection's cursors: Django's own check opens one to send SELECT 1."""
    return mock.patch.object(raw, "cursor", wraps=raw.cursor)


def _other_session() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _terminate(pid: int) -> None:
    with _other_session() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True


def test_the_backend_is_the_projects():
    assert type(connections["default"]).__module__ == "config.db.postgresql.base"


def test_a_quiet_connection_is_usable_without_a_round_trip():
    connection.ensure_connection()
    with _sent_statements(connection.connection) as cursor:
        assert connection.is_usable() is True
    assert cursor.call_count == 0


def test_a_connection_the_server_wrote_to_asks_the_server():
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("LISTEN scorecard_health_check_test")
    with _other_session() as other:
        other.execute("NOTIFY scorecard_health_check_test")  # the server writes to this session's socket
    time.sleep(0.1)
    with _sent_statements(raw) as cursor:
        assert connection.is_usable() is True  # Django's own check ran and the session is alive
    assert cursor.call_count == 1
    raw.execute("UNLISTEN *")


def test_a_session_the_server_ended_is_replaced_before_the_next_query():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        old_pid = cursor.fetchone()[0]
    _terminate(old_pid)
    time.sleep(0.1)  # the server's FATAL message and the close reach the socket
    assert connection.is_usable() is False

    # What Django does before a request's (or a task's) first query with CONN_HEALTH_CHECKS.
    connection.health_check_enabled = True
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid


def test_a_closed_connection_is_not_usable():
    connection.ensure_connection()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()


# --- Prepared reads (PreparedValuesIterable) -----------------------------------------------------------------


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _iterable_rows():
    from config.db.postgresql.base import PreparedValuesIterable
    from partnerships.models import Pillar

    rows = Pillar.objects.order_by("key").values("key", "name_en")
    rows._iterable_class = PreparedValuesIterable
    return rows


def test_a_prepared_read_is_planned_once_per_connection_and_reads_what_django_reads(db):
    from partnerships.models import Pillar

    Pillar.objects.get_or_create(key="scenario", defaults={"name_zh_hans": "场景", "name_en": "Scenario"})
    expected = list(Pillar.objects.order_by("key").values("key", "name_en"))
    assert expected
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    assert threshold is not None  # on unless DJANGO_PG_PREPARED=0
    for _ in range(threshold + 1):
        assert list(_iterable_rows()) == expected
    assert any("partnerships_pillar" in s for s in _prepared_statements())
    # Filtered, sliced and empty reads keep Django's answers.
    assert list(_iterable_rows().filter(key="nothing")) == []
    assert list(_iterable_rows().none()) == []
    assert list(_iterable_rows()[:1]) == expected[:1]


def test_with_prepared_statements_off_the_read_is_djangos_own(db):
    connection.ensure_connection()
    raw = connection.connection
    raw.prepare_threshold = None  # what DJANGO_PG_PREPARED=0 gives every connection
    try:
        before = set(_prepared_statements())
        for _ in range(8):
            list(_iterable_rows())
        assert set(_prepared_statements()) == before
        assert connection.prepared_cursor() is None
    finally:
        connection.close()
