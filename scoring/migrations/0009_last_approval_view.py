"""Each initiative's last approval as a database view (``scoring.LastApproval``, read by partnerships.lifecycle).

The same SQL on PostgreSQL and SQLite (the embedded default). Its reads use the partial index of 0008."""

import django.db.models.deletion
from django.db import migrations, models

CREATE = """
CREATE VIEW scoring_lastapproval AS
SELECT initiative_id, MAX(approved_at) AS approved_at
FROM scoring_assessment
WHERE status = 'approved' AND approved_at IS NOT NULL
GROUP BY initiative_id
"""
DROP = "DROP VIEW IF EXISTS scoring_lastapproval"


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0011_lifecycle"),
        ("scoring", "0008_assessment_last_approved_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="LastApproval",
            fields=[
                (
                    "initiative",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="last_approval",
                        serialize=False,
                        to="partnerships.initiative",
                        verbose_name="initiative",
                    ),
                ),
                ("approved_at", models.DateTimeField(verbose_name="last approved at")),
            ],
            options={
                "verbose_name": "last approval",
                "verbose_name_plural": "last approvals",
                "db_table": "scoring_lastapproval",
                "managed": False,
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
