"""Report schedules, set up in one place: the weekly portfolio reports (Monday 08:00) and the nightly
stale-score sweep (02:00), both Asia/Shanghai. Admins change them in django-celery-beat's admin; the running
beat (DatabaseScheduler) picks the change up."""

from django.db import migrations
from django.utils import timezone

TIMEZONE = "Asia/Shanghai"
WEEKLY = "reports: weekly portfolio report per bank"
NIGHTLY = "reports: re-score stale scores nightly"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    monday_eight, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="8", day_of_week="1", day_of_month="*", month_of_year="*", timezone=TIMEZONE
    )
    nightly_two, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIMEZONE
    )
    PeriodicTask.objects.get_or_create(
        name=WEEKLY,
        defaults={
            "task": "scoring.generate_weekly_reports",
            "crontab": monday_eight,
            "description": "Enqueues one report per bank, plus the all-banks report, for the week that just ended.",
        },
    )
    PeriodicTask.objects.get_or_create(
        name=NIGHTLY,
        defaults={
            "task": "scoring.sweep_stale_scores",
            "crontab": nightly_two,
            "description": "Creates score jobs for initiatives never scored or scored under an older rubric version.",
        },
    )
    # Tell a running beat that its schedule changed (what the model's save signal does outside migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[WEEKLY, NIGHTLY]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_report"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
