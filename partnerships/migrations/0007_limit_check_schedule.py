"""The daily joint-lending limit check (issue 13), set up in one place like the other schedules: every day at 07:00
Asia/Shanghai, before the working day. Admins change it in django-celery-beat's admin; the running beat
(DatabaseScheduler) picks the change up."""

from django.db import migrations
from django.utils import timezone

TIMEZONE = "Asia/Shanghai"
NAME = "limits: daily joint-lending limit check"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    daily_seven, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIMEZONE
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "partnerships.check_limits",
            "crontab": daily_seven,
            "description": "Checks every bank's joint-lending limits, opens and resolves breaches, e-mails the "
            "bank's managers once per new breach and asks for the affected initiatives' scores again.",
        },
    )
    # Tell a running beat that its schedule changed (what the model's save signal does outside migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0006_joint_lending_exposure"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
