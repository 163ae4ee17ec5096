"""python manage.py score --initiative ID [--initiative ID …] | --all [--rubric-version ID] [--wait]
python manage.py score --jobs [--limit N] — recent jobs, for operators."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from partnerships.errors import ServiceError
from scoring.choices import JobStatus
from scoring.models import ScoreJob
from scoring.services.jobs import score_job_request


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
        # The operator acts as the system (every bank); the scoring service checks the rest, as for the API.
        try:
            with transaction.atomic():
                job = score_job_request(
                    user=None,
                    initiative_ids=options["initiative"],
                    rubric_version=options["rubric_version"],
                    field="--initiative",
                )
        except ServiceError as exc:
            options_names = {"rubric_version": "--rubric-version", "--initiative": "--initiative"}
            lines = [
                f"{options_names.get(name, name)}: {message}"
                for name, messages in (exc.fields or {"": [exc.message]}).items()
                for message in messages
            ]
            raise CommandError("\n".join(line.lstrip(": ") for line in lines)) from exc
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
