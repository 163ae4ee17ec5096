"""Webhooks for integrators (issue 14): endpoints and the delivery log, and the sweep that re-enqueues deliveries
whose task was lost (broker down at commit, a worker gone), every minute like the score-job sweeper. Admins change it
in django-celery-beat's admin; the running beat (DatabaseScheduler) picks the change up."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

NAME = "webhooks: re-enqueue due deliveries"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "partnerships.sweep_webhook_deliveries",
            "interval": every_minute,
            "description": "Enqueues again the webhook deliveries that are due but whose task was lost "
            "(the broker was down when they were recorded, or a worker died).",
        },
    )
    # Tell a running beat that its schedule changed (what the model's save signal does outside migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0009_idempotency_records"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("url", models.URLField(max_length=500, verbose_name="URL")),
                (
                    "events",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="The event types this endpoint receives.",
                        verbose_name="events",
                    ),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("secret", models.CharField(editable=False, max_length=100, verbose_name="signing secret")),
                ("description", models.CharField(blank=True, max_length=200, verbose_name="description")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                ),
                (
                    "secret_rotated_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="secret rotated at"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "bank",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_endpoints",
                        to="partnerships.bank",
                        verbose_name="bank",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook endpoint",
                "verbose_name_plural": "webhook endpoints",
                "ordering": ["bank__code", "url", "pk"],
            },
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_type", models.CharField(max_length=50, verbose_name="event type")),
                ("event_id", models.UUIDField(default=uuid.uuid4, verbose_name="event id")),
                ("payload", models.JSONField(verbose_name="payload")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("retrying", "Retrying"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                (
                    "last_status_code",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="last status code"),
                ),
                (
                    "last_response_ms",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="last response time (ms)"
                    ),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "next_attempt_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="next attempt at"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="created at"
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="partnerships.webhookendpoint",
                        verbose_name="endpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook delivery",
                "verbose_name_plural": "webhook deliveries",
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("endpoint", "event_id"), name="webhook_delivery_event_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
