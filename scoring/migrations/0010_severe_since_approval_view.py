"""The high and critical monitoring events recorded since each initiative's last approval, as a database view
(``scoring.SevereSinceApproval``, read by partnerships.lifecycle): the day the first of them occurred.

The severities are those of ``partnerships.choices.SEVERE`` when this was written (a test holds them equal: a
change there needs a migration here). The same SQL on PostgreSQL and SQLite."""

import django.db.models.deletion
from django.db import migrations, models

CREATE = """
CREATE VIEW scoring_severesinceapproval AS
SELECT e.initiative_id, MIN(e.occurred_on) AS required_since
FROM partnerships_monitoringevent e
LEFT JOIN scoring_lastapproval la ON la.initiative_id = e.initiative_id
WHERE e.severity IN ('critical', 'high') AND (la.approved_at IS NULL OR e.created_at > la.approved_at)
GROUP BY e.initiative_id
"""
DROP = "DROP VIEW IF EXISTS scoring_severesinceapproval"


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0011_lifecycle"),
        ("scoring", "0009_last_approval_view"),
    ]

    operations = [
        migrations.CreateModel(
            name="SevereSinceApproval",
            fields=[
                (
                    "initiative",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="severe_since_approval",
                        serialize=False,
                        to="partnerships.initiative",
                        verbose_name="initiative",
                    ),
                ),
                ("required_since", models.DateField(verbose_name="re-assessment required since")),
            ],
            options={
                "verbose_name": "severe event since the last approval",
                "verbose_name_plural": "severe events since the last approval",
                "db_table": "scoring_severesinceapproval",
                "managed": False,
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
