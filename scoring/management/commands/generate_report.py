"""python manage.py generate_report --bank CODE | --all-banks [--period YYYY-MM-DD] [--force] [--no-email]

Builds the weekly portfolio report in this process (no worker needed) and e-mails it to its subscribers, as the
Monday beat run does. ``--period`` takes any day of the week wanted; without it, the last complete week.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from partnerships.models import Bank
from scoring.errors import ServiceError
from scoring.models import Report
from scoring.models.report import ReportKind, ReportStatus
from scoring.reports.services import last_complete_week_start, report_generate, week_bounds


class Command(BaseCommand):
    help = "Build the weekly portfolio report of one bank (or across all banks) for one week, now."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--bank", metavar="CODE", help="the bank's code")
        scope.add_argument("--all-banks", action="store_true", help="the report across all banks")
        parser.add_argument(
            "--period",
            metavar="YYYY-MM-DD",
            help="any day of the week to report on (default: the last complete week)",
        )
        parser.add_argument(
            "--kind", default=ReportKind.WEEKLY_PORTFOLIO, choices=ReportKind.values, help="report kind"
        )
        parser.add_argument("--force", action="store_true", help="rebuild a report that is already ready")
        parser.add_argument("--no-email", action="store_true", help="do not e-mail the subscribers")

    def handle(self, *args, **options):
        bank_id = None
        if options["bank"] is not None:
            bank_id = Bank.objects.filter(code=options["bank"]).values_list("pk", flat=True).first()
            if bank_id is None:
                known = ", ".join(Bank.objects.order_by("code").values_list("code", flat=True)[:20]) or "none"
                raise CommandError(f"--bank {options['bank']!r}: no bank with this code (known: {known})")
        if options["period"]:
            try:
                day = datetime.date.fromisoformat(options["period"])
            except ValueError:
                raise CommandError(
                    f"--period {options['period']!r}: expected a date as YYYY-MM-DD, e.g. 2024-11-18"
                ) from None
        else:
            day = last_complete_week_start()
        start, end = week_bounds(day)
        already = (
            not options["force"]
            and Report.objects.filter(
                kind=options["kind"], bank_id=bank_id, period_start=start, status=ReportStatus.READY
            ).exists()
        )
        try:
            report = report_generate(
                kind=options["kind"],
                bank_id=bank_id,
                period_start=start,
                force=options["force"],
                deliver=not options["no_email"],
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        scope = options["bank"] or "all banks"
        if report.status != ReportStatus.READY:
            raise CommandError(
                f"report {report.pk} ({scope}, {start}–{end}) is {report.status}: {report.error}"
            )
        line = (
            f"report {report.pk} ready: {report.kind}, {scope}, {start} – {end}, "
            f"generated {timezone.localtime(report.generated_at):%Y-%m-%d %H:%M:%S %Z}"
        )
        if already:
            line += " (already ready; --force rebuilds it)"
        self.stdout.write(self.style.SUCCESS(line))
