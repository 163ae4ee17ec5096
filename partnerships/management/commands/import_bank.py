"""`manage.py import_bank FILE [--dry-run]`: restore a bank's archive written by export_bank, all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from partnerships.services.archive import ArchiveError, bank_import


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated when asked for
        return _(
            "Restore a bank from an archive written by export_bank, in one transaction. Refused, with nothing "
            "written, when the bank's code exists here, the archive is damaged or reference data is missing or "
            "different."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help=_("The archive to import."))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Check the archive against this installation; write nothing."),
        )

    def handle(self, *args, **options) -> None:
        try:
            result = bank_import(options["file"], dry_run=options["dry_run"])
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        for warning in result.warnings:
            self.stderr.write(_("Warning: %(warning)s") % {"warning": warning})
        if options["verbosity"] == 0:
            return
        write = self.stdout.write
        if result.dry_run:
            write(
                _("The archive of bank %(bank)s can be imported here; nothing was written.")
                % {"bank": result.bank}
            )
        else:
            write(_("Bank %(bank)s imported.") % {"bank": result.bank})
        for label, count in sorted(result.counts.items()):
            write(f"  {label}: {count}")
        if result.linked_users:
            write(_("Existing users linked: %(users)s") % {"users": ", ".join(result.linked_users)})
        if result.created_users:
            message = (
                _("Users to create, inactive and without a usable password: %(users)s")
                if result.dry_run
                else _(
                    "Users created inactive and without a usable password (activate them and set a password, "
                    "e.g. manage.py changepassword USERNAME): %(users)s"
                )
            )
            write(message % {"users": ", ".join(result.created_users)})
