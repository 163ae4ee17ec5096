"""Reports' payloads compressed with lz4 instead of pglz when stored out of line (PostgreSQL 14+ built with lz4).

# why: a 100k-initiative weekly report's payload is 3 MB of JSON; compressing it with pglz took half of the
# report's save (0.2 s of the UPDATE, 0.1 s with lz4), and reading it back (the next report's movers) is faster
# too. The stored value is the same; rows written before keep pglz until written again (both read the same).
Nothing to do on SQLite, on an older PostgreSQL or on one built without lz4 (the column keeps the default).
"""

from django.db import migrations

COLUMN = "ALTER TABLE scoring_report ALTER COLUMN payload SET COMPRESSION {method}"


def _lz4_available(schema_editor) -> bool:
    if schema_editor.connection.vendor != "postgresql" or schema_editor.connection.pg_version < 140000:
        return False
    with schema_editor.connection.cursor() as cursor:
        # The methods this server was built with (pglz always; lz4 only when compiled in).
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    return bool(row) and "lz4" in (row[0] or [])


def forwards(apps, schema_editor):
    if _lz4_available(schema_editor):
        schema_editor.execute(COLUMN.format(method="lz4"))


def backwards(apps, schema_editor):
    if _lz4_available(schema_editor):
        schema_editor.execute(COLUMN.format(method="pglz"))


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0010_severe_since_approval_view"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
