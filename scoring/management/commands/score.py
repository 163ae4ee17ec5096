"""python manage.py score --initiative ID [--initiative ID …] | --all [--rubric-version ID] [--wait]
python manage.py score --jobs [--limit N] — recent jobs, for operators."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from partnerships.models import Initiative
from scoring.choices import JobStatus
from scoring.models import RubricVersion, ScoreJob
from scoring.services.jobs import score_job_create


class Command(BaseCommand):
    help = "Ask the workers to score initiatives, optionally waiting for the job; or list recent jobs."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--initiative", type=int, action="append", help="initiative id (repeatable)")
        target.add_argument("--all", action="store_true", help="every initiative of every bank")
        target.add_argument("--jobs", action="store_true", help="list recent score jobs")
        parser.add_argument(
            "--rubric-version", type=int, help="score against this version instead of the published one"
        )
        parser.add_argument("--wait", action="store_true", help="wait until the job has finished")
        parser.add_argument(
            "--timeout", type=float, default=600, help="seconds to wait at most (with --wait)"
        )
        parser.add_argument("--limit", type=int, default=20, help="jobs to list (with --jobs)")

    def handle(self, *args, **options):
        if options["jobs"]:
            return self._list(options["limit"])
        version = None
        if options["rubric_version"] is not None:
            version = (
                RubricVersion.objects.filter(pk=options["rubric_version"]).select_related("rubric").first()
            )
            if version is None:
                raise CommandError(f"--rubric-version {options['rubric_version']}: no such rubric version")
        ids = options["initiative"]
        if ids:
            found = set(Initiative.objects.filter(pk__in=ids).values_list("pk", flat=True))
            missing = sorted(set(ids) - found)
            if missing:
                raise CommandError(f"--initiative: no initiative with id {', '.join(map(str, missing))}")
            banks = set(Initiative.objects.filter(pk__in=ids).values_list("bank_id", flat=True))
            bank_id = banks.pop() if len(banks) == 1 else None
        else:
            bank_id = None
        with transaction.atomic():
            job = score_job_create(
                bank_id=bank_id,
                initiative_ids=ids,
                rubric_version=version,
                pillar=version.rubric.pillar_id if version else "",
            )
        self.stdout.write(f"job {job.pk} queued")
        if not options["wait"]:
            return
        deadline = time.monotonic() + options["timeout"]
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(0.2)
        else:
            raise CommandError(
                f"job {job.pk} still {job.status} after {options['timeout']} s (is a worker running?)"
            )
        line = (
            f"job {job.pk} {job.status}: {job.done}/{job.total} scored, "
            f"{job.failed} failed, {job.scores_created} new scores"
        )
        if job.status == JobStatus.FAILED:
            raise CommandError(f"{line}; {job.error}")
        self.stdout.write(self.style.SUCCESS(line))
        if job.error:
            self.stdout.write(self.style.WARNING(job.error))

    def _list(self, limit: int) -> None:
        for job in ScoreJob.objects.select_related("bank", "requested_by")[:limit]:
            self.stdout.write(
                f"{job.pk}  {job.created_at:%Y-%m-%d %H:%M:%S}  {job.kind:<8} {job.status:<9} "
                f"{job.done:>6}/{job.total:<6} failed {job.failed:<4} new {job.scores_created:<6} "
                f"bank={job.bank.code if job.bank else '*'}  by={job.requested_by or '-'}  {job.error[:80]}"
            )
