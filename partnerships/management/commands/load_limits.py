"""python manage.py load_limits — validate and load fixtures/limits/*.yaml (regulatory exposure limits), idempotently."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from partnerships.services.limit_register import LIMIT_DIR, LimitFileError, limits_load


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated when asked for, in the active language
        return _(
            "Validate the exposure-limit files and load new versions; an unchanged limit is skipped, a changed one "
            "for a loaded version is refused (it needs the next version); nothing is written on error."
        )

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(LIMIT_DIR), help=_("The folder of limit YAML files."))

    def handle(self, *args, **options):
        try:
            report = limits_load(directory=Path(options["dir"]))
        except LimitFileError as exc:
            raise CommandError(
                _("Limit files rejected; nothing was loaded:") + "\n  " + "\n  ".join(exc.problems)
            ) from exc
        for label in report.created:
            self.stdout.write(self.style.SUCCESS(_("loaded %(label)s") % {"label": label}))
        for label in report.unchanged:
            self.stdout.write(_("unchanged %(label)s") % {"label": label})
