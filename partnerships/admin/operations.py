"""The operators' admins of other apps (groups, Celery beat schedules, django-axes logs) in the reader's language.

Their models' names, fields and help texts are translated by the project's catalogue; what a catalogue cannot
reach is here: columns named after a method (Django shows “Human readable”, “Scheduler”, “Status”), a cron
schedule described in words (Celery beat asks cron-descriptor in English), and the group's permission picker
(``localize.PermissionLabelsMixin``). Each admin is re-registered as a subclass of its app's own.
"""

from __future__ import annotations

from cron_descriptor import (
    ExpressionDescriptor,
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
)
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.utils import translation
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .localize import PermissionLabelsMixin

# cron-descriptor's Chinese still names days and months in English (it takes them from Python's calendar).
_ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def cron_text(crontab) -> str:
    """A crontab schedule in words, in the reader's language, with its time zone: “在 08:00，仅在星期一（Asia/Shanghai）”."""
    from django_celery_beat.models import cronexp

    language = translation.get_language() or ""
    if not language.startswith("zh"):
        return crontab.human_readable
    expression = " ".join(
        cronexp(value)
        for value in (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        )
    )
    options = Options()
    options.locale_code = "zh_CN"
    options.use_24hour_time_format = True
    try:
        text = ExpressionDescriptor(expression, options).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException):
        return f"{expression}（{crontab.timezone}）"
    for english, number in zip(_ENGLISH_DAYS, range(7), strict=True):
        text = text.replace(english, str(WEEKDAYS[number]))
    for english, number in zip(_ENGLISH_MONTHS, range(1, 13), strict=True):
        text = text.replace(english, str(MONTHS[number]))
    text = text.replace(", ", "，").replace(" 和 ", "和").replace(" 到 ", "到").replace("仅在 ", "仅在")
    return f"{text}（{crontab.timezone}）"


def _reregister(model, admin_class) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


class ScorecardGroupAdmin(PermissionLabelsMixin, GroupAdmin):
    pass


_reregister(Group, ScorecardGroupAdmin)


class _TaskNameFilter(admin.AllValuesFieldListFilter):
    """Beat's task filter, titled in the reader's language (the model names the field in plain English)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("Task Name")


def _beat_admins() -> None:
    from django_celery_beat import admin as beat_admin
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    class PeriodicTaskInline(beat_admin.PeriodicTaskInline):
        fields = ("name", "task_name", "args", "kwargs")
        readonly_fields = fields

        @admin.display(description=_("Task Name"))
        def task_name(self, obj):
            return obj.task

    class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
        inlines = [PeriodicTaskInline]

        @admin.display(description=_("In words"))
        def human_readable(self, obj):
            return cron_text(obj)

    class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
        change_form_template = "admin/django_celery_beat/periodictask/change_form.html"
        list_filter = [
            ("task", _TaskNameFilter) if name == "task" else name
            for name in beat_admin.PeriodicTaskAdmin.list_filter
        ]

        @admin.display(description=_("Schedule"))
        def scheduler(self, obj):
            return cron_text(obj.crontab) if obj.crontab_id else obj.scheduler

        @admin.display(description=_("In words"))
        def crontab_translation(self, obj):
            return cron_text(obj.crontab) if obj.crontab_id else "—"

        def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
            # The words the page shows beside the crontab picked in the form (beat's own are English).
            readable = {crontab.pk: cron_text(crontab) for crontab in CrontabSchedule.objects.all()}
            extra_context = {
                **(extra_context or {}),
                "readable_crontabs": readable,
                "crontab_words": _("In words: %(text)s"),
            }
            return admin.ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)

    for model, base in (
        (ClockedSchedule, beat_admin.ClockedScheduleAdmin),
        (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
        (SolarSchedule, beat_admin.SolarScheduleAdmin),
    ):
        _reregister(model, type(base.__name__, (base,), {"inlines": [PeriodicTaskInline]}))
    _reregister(CrontabSchedule, CrontabScheduleAdmin)
    _reregister(PeriodicTask, PeriodicTaskAdmin)


def _axes_admins() -> None:
    from axes import admin as axes_admin
    from axes.models import AccessAttempt

    if not admin.site.is_registered(AccessAttempt):
        return
    # The app's own name is the library's (“Axes”); a reader looks for what it holds.
    apps.get_app_config("axes").verbose_name = _("Login security")

    class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
        @admin.display(description=_("Expires At"))
        def expiration(self, obj):
            return super().expiration(obj)

        @admin.display(description=_("Status"))
        def status(self, obj):
            left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
            if left > 0:
                return ngettext("%(n)d attempt left", "%(n)d attempts left", left) % {"n": left}
            return _("Locked Out")

    _reregister(AccessAttempt, AccessAttemptAdmin)


_beat_admins()
_axes_admins()
