"""python manage.py load_rubrics — validate and load fixtures/rubrics/*.yaml, idempotently."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scoring.services.rubrics import RUBRIC_DIR, RubricFileError, rubrics_load


class Command(BaseCommand):
    help = (
        "Validate the rubric files and load new versions (published, with a re-score job); nothing on error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(RUBRIC_DIR), help="folder of rubric YAML files")
        parser.add_argument("--draft", action="store_true", help="load new versions as drafts, unpublished")

    def handle(self, *args, **options):
        try:
            report = rubrics_load(directory=Path(options["dir"]), publish=not options["draft"])
        except RubricFileError as exc:
            raise CommandError(
                "Rubric files rejected, nothing loaded:\n  " + "\n  ".join(exc.problems)
            ) from exc
        for label in report.created:
            state = "published" if label in report.published else "draft"
            self.stdout.write(self.style.SUCCESS(f"loaded {label} ({state})"))
        for label in report.unchanged:
            self.stdout.write(f"unchanged {label}")
        for label in report.amended:
            self.stdout.write(f"amended {label} (punctuation only; scores unchanged)")
        for job in report.jobs:
            if job is not None:
                self.stdout.write(f"re-score job {job.pk} queued")
