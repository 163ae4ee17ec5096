"""Django's PostgreSQL backend with a health check that costs no round trip while the server has said nothing.

``CONN_HEALTH_CHECKS`` keeps a persistent connection from failing the first query of a request after the
server dropped it (a restart, ``pg_terminate_backend``, an idle timeout): before the first query of every
request or task Django runs ``is_usable()``, which sends ``SELECT 1``. That is a whole round trip per request —
a fifth of an initiative detail request's time under load (py-spy, docs/performance.md) — spent asking a question
the socket already answers: a server that ends a session writes its last message (``FATAL: terminating
connection …``) and closes the socket, which then polls readable; an idle session the server keeps is never
written to (no LISTEN here; no notices between statements). So:

* nothing to read on the socket → usable, no round trip;
* anything to read, or the socket gone → Django's own check (``SELECT 1``), which fails on a dropped session and
  lets Django reconnect before the request's first query, exactly as before.

A server that vanishes without closing (a cut cable) is caught by neither check until the operating system times
the socket out; ``SELECT 1`` would have hung on it the same way.

It also gives the hot reads a cursor whose statements PostgreSQL plans once per connection
(``prepared_cursor``, used by ``PreparedValuesIterable`` below). Django binds parameters on the client, so every
query is parsed and planned by the server each time; the initiative reader's query (about 30 columns, their
joins and three subqueries) spent several times longer being planned than being run. A server-binding psycopg
cursor lets psycopg prepare a statement once it has run ``prepare_threshold`` times on the connection
(``OPTIONS``; Django's client-binding cursors never prepare, whatever the threshold). Only querysets that ask
for it use it; ``DJANGO_PG_PREPARED=0`` turns it off (a pooler in transaction mode cannot keep a session's
prepared statements).
"""

from __future__ import annotations

import select

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.postgresql import base
from django.db.models.query import ValuesIterable
from django.utils.asyncio import async_unsafe


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()  # why poll, not select: select() refuses descriptors above 1023
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            events = poller.poll(0)
        except (OSError, ValueError, base.Database.Error):
            return False
        if not events:
            return True
        return super().is_usable()

    @async_unsafe
    def prepared_cursor(self):
        """A Django cursor (query log, wrappers, error translation) over a server-binding psycopg cursor: psycopg
        prepares its statements once they have run ``prepare_threshold`` times on this connection. None when the
        threshold is off (``DJANGO_PG_PREPARED=0``)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        if self.connection.prepare_threshold is None:
            return None
        with self.wrap_database_errors:
            return self._prepare_cursor(base.ServerBindingCursor(self.connection))


class PreparedValuesIterable(ValuesIterable):
    """``values()`` rows read through ``prepared_cursor`` on this backend, and as Django reads them elsewhere.

    Django's own steps otherwise: the compiler's SQL, the same converters (``results_iter``), the same names.
    Set on a values queryset (``qs._iterable_class = PreparedValuesIterable``); clones keep it."""

    def __iter__(self):
        queryset = self.queryset
        connection = connections[queryset.db]
        cursor = None
        if isinstance(connection, DatabaseWrapper) and not self.chunked_fetch:
            cursor = connection.prepared_cursor()
        if cursor is None:
            yield from super().__iter__()
            return
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        with cursor:
            try:
                sql, params = compiler.as_sql()
                if not sql:
                    raise EmptyResultSet
            except EmptyResultSet:
                return
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        if query.selected:
            names = list(query.selected)
        else:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
        indexes = range(len(names))
        for row in compiler.results_iter(results=[rows]):
            yield {names[i]: row[i] for i in indexes}
