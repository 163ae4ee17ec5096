"""The API's Idempotency-Key records (issue 16), and the daily purge of expired ones, set up in one place like the
other schedules: every day at 03:30 Asia/Shanghai. Admins change it in django-celery-beat's admin; the running beat
(DatabaseScheduler) picks the change up."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

TIMEZONE = "Asia/Shanghai"
NAME = "api: purge expired idempotency records"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIMEZONE
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "partnerships.purge_idempotency_records",
            "crontab": daily,
            "description": "Deletes the API's Idempotency-Key records older than IDEMPOTENCY_TTL_HOURS (expired "
            "records are ignored already; this keeps the table small).",
        },
    )
    # Tell a running beat that its schedule changed (what the model's save signal does outside migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0008_signon"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=255, verbose_name="idempotency key")),
                ("method", models.CharField(max_length=10, verbose_name="method")),
                ("path", models.TextField(verbose_name="path")),
                ("body_sha256", models.CharField(max_length=64, verbose_name="body SHA-256")),
                ("status_code", models.PositiveSmallIntegerField(verbose_name="status code")),
                ("response_body", models.TextField(blank=True, verbose_name="response body")),
                (
                    "response_headers",
                    models.JSONField(blank=True, default=dict, verbose_name="response headers"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="created at"
                    ),
                ),
                (
                    "completed_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="completed at"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="idempotency_records",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "idempotency record",
                "verbose_name_plural": "idempotency records",
                "constraints": [
                    models.UniqueConstraint(fields=("user", "key"), name="idempotency_record_user_key_unique")
                ],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
