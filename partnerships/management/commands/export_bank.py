"""`manage.py export_bank CODE [--output FILE]`: one bank's data as one portable archive (partnerships.services.archive)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerships.services.archive import ArchiveError, bank_export


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated when asked for
        return _(
            "Write one bank's data (initiatives, KPIs, evidence files, assessments, scores, reports, exposures …) "
            "to one archive that import_bank restores in another installation."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help=_("The bank's code."))
        parser.add_argument(
            "--output", "-o", metavar="FILE", help=_("Where to write the archive (default: bank-CODE.zip).")
        )

    def handle(self, *args, **options) -> None:
        code = options["code"]
        output = Path(options["output"] or f"bank-{code}.zip")
        started = timezone.now()
        try:
            result = bank_export(code, output)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] == 0:
            return
        write = self.stdout.write
        write(
            _("Bank %(bank)s exported to %(file)s at %(time)s (SHA-256 %(sha)s).")
            % {
                "bank": result.bank,
                "file": result.path,
                "time": timezone.localtime(started).isoformat(timespec="seconds"),
                "sha": result.sha256,
            }
        )
        for label, count in result.counts.items():
            write(f"  {label}: {count}")
        write("  " + _("stored files: %(count)d") % {"count": result.files})
        for line in result.unfinished:
            self.stderr.write(line)
