"""python manage.py load_checklists — validate and load fixtures/checklists/*.yaml, idempotently."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from scoring.services.checklists import CHECKLIST_DIR, ChecklistFileError, checklists_load


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated when asked for, in the active language
        return _(
            "Validate the regulatory checklist files and load new versions; an unchanged file is skipped, a "
            "changed file for a loaded version is refused; nothing is written on error."
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", default=str(CHECKLIST_DIR), help=_("The folder of checklist YAML files.")
        )

    def handle(self, *args, **options):
        try:
            report = checklists_load(directory=Path(options["dir"]))
        except ChecklistFileError as exc:
            raise CommandError(
                _("Checklist files rejected; nothing was loaded:") + "\n  " + "\n  ".join(exc.problems)
            ) from exc
        for label in report.created:
            self.stdout.write(self.style.SUCCESS(_("loaded %(label)s") % {"label": label}))
        for label in report.unchanged:
            self.stdout.write(_("unchanged %(label)s") % {"label": label})
