"""The partnership lifecycle (issue 14 parts 1-3): re-assessment policies, monitoring events, the contract and exit
register, the weekly reminder's once-a-week guard — and the reminder's schedule, set up in one place like the
other schedules: every Monday at 08:00 Asia/Shanghai. Admins change it in django-celery-beat's admin; the running
beat (DatabaseScheduler) picks the change up."""

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

TIMEZONE = "Asia/Shanghai"
NAME = "lifecycle: weekly re-assessment reminder"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    monday_eight, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="8", day_of_week="1", day_of_month="*", month_of_year="*", timezone=TIMEZONE
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "partnerships.send_reassessment_reminders",
            "crontab": monday_eight,
            "description": "E-mails each bank's managers and the initiatives' owners the initiatives due or "
            "overdue for re-assessment, once a week per bank.",
        },
    )
    # Tell a running beat that its schedule changed (what the model's save signal does outside migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('partnerships', '0010_webhooks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalMonitoringEvent',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('incident', 'Incident'), ('complaint', 'Customer complaint'), ('regulatory_finding', 'Regulatory finding'), ('data_breach', 'Data breach'), ('licence_change', 'Partner licence change')], max_length=24, verbose_name='kind')),
                ('occurred_on', models.DateField(verbose_name='occurred on')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=16, verbose_name='severity')),
                ('description', models.TextField(verbose_name='description')),
                ('remediation_due_on', models.DateField(blank=True, null=True, verbose_name='remediation deadline')),
                ('status', models.CharField(choices=[('open', 'Open'), ('remediating', 'Remediating'), ('closed', 'Closed')], default='open', max_length=16, verbose_name='status')),
                ('closed_on', models.DateField(blank=True, null=True, verbose_name='closed on')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='recorded at')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('initiative', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partnerships.initiative', verbose_name='initiative')),
                ('remediation_owner', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='remediation owner')),
            ],
            options={
                'verbose_name': 'historical monitoring event',
                'verbose_name_plural': 'historical monitoring events',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalPartnershipContract',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('reference', models.CharField(blank=True, max_length=100, verbose_name='contract reference')),
                ('signed_on', models.DateField(blank=True, null=True, verbose_name='signed on')),
                ('starts_on', models.DateField(blank=True, null=True, verbose_name='starts on')),
                ('ends_on', models.DateField(blank=True, null=True, verbose_name='ends on')),
                ('auto_renews', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='renews automatically')),
                ('notice_days', models.PositiveIntegerField(blank=True, null=True, verbose_name='notice period (days)')),
                ('critical_function', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', help_text='Unknown counts as critical: it is re-assessed as often as a critical initiative.', max_length=8, verbose_name='supports a critical function')),
                ('audit_rights', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='audit rights')),
                ('data_return_and_destruction', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='data return and destruction terms')),
                ('sla_summary', models.TextField(blank=True, verbose_name='service levels')),
                ('sla_availability_percent', models.DecimalField(blank=True, decimal_places=3, max_digits=6, null=True, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='availability committed (%)')),
                ('exit_plan', models.TextField(blank=True, verbose_name='exit plan')),
                ('exit_plan_last_tested_on', models.DateField(blank=True, null=True, verbose_name='exit plan last tested on')),
                ('alternative_provider', models.CharField(blank=True, max_length=200, verbose_name='named alternative provider')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('initiative', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partnerships.initiative', verbose_name='initiative')),
                ('updated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
            ],
            options={
                'verbose_name': 'historical contract and exit register entry',
                'verbose_name_plural': 'historical contract and exit register',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalReassessmentPolicy',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('months_critical', models.PositiveSmallIntegerField(default=6, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for a critical initiative')),
                ('months_a', models.PositiveSmallIntegerField(default=24, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier A')),
                ('months_b', models.PositiveSmallIntegerField(default=24, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier B')),
                ('months_c', models.PositiveSmallIntegerField(default=12, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier C')),
                ('months_d', models.PositiveSmallIntegerField(default=6, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier D or unscored')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('bank', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partnerships.bank', verbose_name='bank')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical re-assessment policy',
                'verbose_name_plural': 'historical re-assessment policies',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='MonitoringEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('incident', 'Incident'), ('complaint', 'Customer complaint'), ('regulatory_finding', 'Regulatory finding'), ('data_breach', 'Data breach'), ('licence_change', 'Partner licence change')], max_length=24, verbose_name='kind')),
                ('occurred_on', models.DateField(verbose_name='occurred on')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=16, verbose_name='severity')),
                ('description', models.TextField(verbose_name='description')),
                ('remediation_due_on', models.DateField(blank=True, null=True, verbose_name='remediation deadline')),
                ('status', models.CharField(choices=[('open', 'Open'), ('remediating', 'Remediating'), ('closed', 'Closed')], default='open', max_length=16, verbose_name='status')),
                ('closed_on', models.DateField(blank=True, null=True, verbose_name='closed on')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='recorded at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
                ('initiative', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='monitoring_events', to='partnerships.initiative', verbose_name='initiative')),
                ('remediation_owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='remediations', to=settings.AUTH_USER_MODEL, verbose_name='remediation owner')),
            ],
            options={
                'verbose_name': 'monitoring event',
                'verbose_name_plural': 'monitoring events',
                'ordering': ['-occurred_on', '-id'],
                'indexes': [models.Index(fields=['initiative', 'status'], name='monitoring_event_open')],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['incident', 'complaint', 'regulatory_finding', 'data_breach', 'licence_change'])), name='monitoring_event_kind_valid'), models.CheckConstraint(condition=models.Q(('severity__in', ['low', 'medium', 'high', 'critical'])), name='monitoring_event_severity_valid'), models.CheckConstraint(condition=models.Q(('status__in', ['open', 'remediating', 'closed'])), name='monitoring_event_status_valid'), models.CheckConstraint(condition=models.Q(models.Q(('closed_on__isnull', False), ('status', 'closed')), models.Q(models.Q(('status', 'closed'), _negated=True), ('closed_on__isnull', True)), _connector='OR'), name='monitoring_event_closed_dated'), models.CheckConstraint(condition=models.Q(('description', ''), _negated=True), name='monitoring_event_described')],
            },
        ),
        migrations.CreateModel(
            name='PartnershipContract',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(blank=True, max_length=100, verbose_name='contract reference')),
                ('signed_on', models.DateField(blank=True, null=True, verbose_name='signed on')),
                ('starts_on', models.DateField(blank=True, null=True, verbose_name='starts on')),
                ('ends_on', models.DateField(blank=True, null=True, verbose_name='ends on')),
                ('auto_renews', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='renews automatically')),
                ('notice_days', models.PositiveIntegerField(blank=True, null=True, verbose_name='notice period (days)')),
                ('critical_function', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', help_text='Unknown counts as critical: it is re-assessed as often as a critical initiative.', max_length=8, verbose_name='supports a critical function')),
                ('audit_rights', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='audit rights')),
                ('data_return_and_destruction', models.CharField(choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='unknown', max_length=8, verbose_name='data return and destruction terms')),
                ('sla_summary', models.TextField(blank=True, verbose_name='service levels')),
                ('sla_availability_percent', models.DecimalField(blank=True, decimal_places=3, max_digits=6, null=True, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='availability committed (%)')),
                ('exit_plan', models.TextField(blank=True, verbose_name='exit plan')),
                ('exit_plan_last_tested_on', models.DateField(blank=True, null=True, verbose_name='exit plan last tested on')),
                ('alternative_provider', models.CharField(blank=True, max_length=200, verbose_name='named alternative provider')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('initiative', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='contract', to='partnerships.initiative', verbose_name='initiative')),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
            ],
            options={
                'verbose_name': 'contract and exit register entry',
                'verbose_name_plural': 'contract and exit register',
                'ordering': ['initiative__bank__code', 'initiative__code'],
                'constraints': [models.CheckConstraint(condition=models.Q(('starts_on__isnull', True), ('ends_on__isnull', True), ('ends_on__gte', models.F('starts_on')), _connector='OR'), name='contract_dates_ordered'), models.CheckConstraint(condition=models.Q(('sla_availability_percent__isnull', True), models.Q(('sla_availability_percent__gte', 0), ('sla_availability_percent__lte', 100)), _connector='OR'), name='contract_availability_range'), models.CheckConstraint(condition=models.Q(('auto_renews__in', ['yes', 'no', 'unknown']), ('critical_function__in', ['yes', 'no', 'unknown']), ('audit_rights__in', ['yes', 'no', 'unknown']), ('data_return_and_destruction__in', ['yes', 'no', 'unknown'])), name='contract_tristate_valid')],
            },
        ),
        migrations.CreateModel(
            name='ReassessmentPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('months_critical', models.PositiveSmallIntegerField(default=6, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for a critical initiative')),
                ('months_a', models.PositiveSmallIntegerField(default=24, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier A')),
                ('months_b', models.PositiveSmallIntegerField(default=24, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier B')),
                ('months_c', models.PositiveSmallIntegerField(default=12, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier C')),
                ('months_d', models.PositiveSmallIntegerField(default=6, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)], verbose_name='months for tier D or unscored')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('bank', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='reassessment_policy', to='partnerships.bank', verbose_name='bank')),
            ],
            options={
                'verbose_name': 're-assessment policy',
                'verbose_name_plural': 're-assessment policies',
                'ordering': ['bank__code'],
                'constraints': [models.CheckConstraint(condition=models.Q(('months_critical__gte', 1), ('months_critical__lte', 120), ('months_a__gte', 1), ('months_a__lte', 120), ('months_b__gte', 1), ('months_b__lte', 120), ('months_c__gte', 1), ('months_c__lte', 120), ('months_d__gte', 1), ('months_d__lte', 120)), name='reassessment_policy_months_range')],
            },
        ),
        migrations.CreateModel(
            name='ReassessmentReminder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('week', models.DateField(verbose_name='week (Monday)')),
                ('initiatives', models.PositiveIntegerField(default=0, verbose_name='initiatives due or overdue')),
                ('messages', models.PositiveIntegerField(default=0, verbose_name='messages sent')),
                ('sent_at', models.DateTimeField(auto_now_add=True, verbose_name='sent at')),
                ('bank', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reassessment_reminders', to='partnerships.bank', verbose_name='bank')),
            ],
            options={
                'verbose_name': 're-assessment reminder',
                'verbose_name_plural': 're-assessment reminders',
                'ordering': ['-week', 'bank__code'],
                'constraints': [models.UniqueConstraint(fields=('bank', 'week'), name='reassessment_reminder_once_a_week')],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
