"""`manage.py seed_demo`: load the seed's reference data, the illustrative demo data and a demo superuser.

Idempotent: a second run with unchanged files changes nothing. Passwords never live in the repository: the
demo users get SCORECARD_DEMO_PASSWORD when it is set, else the password kept in var/demo-credentials.txt,
else a new one that is generated and written there (mode 0600). A password is set only when a user is created.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from partnerships.services.seed import DEMO_ADMIN_USERNAME, DEMO_FILE, SeedDataError, SeedResult, seed_all
from partnerships.signals import demo_data_seeded

CREDENTIALS_FILENAME = "demo-credentials.txt"


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILENAME


def read_credentials(path: Path) -> str:
    """The password line of the credentials file (``password: …``)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "password" and value.strip():
            return value.strip()
    raise CommandError(
        _("%(path)s has no 'password: …' line; fix or delete it, or set SCORECARD_DEMO_PASSWORD.")
        % {"path": path}
    )


def write_credentials(path: Path, password: str, usernames: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            "# Partnership Scorecard demo credentials, written by `manage.py seed_demo`.\n"
            "# Keep this file private; it is not part of the repository.\n"
            f"usernames: {', '.join(usernames)}\n"
            f"password: {password}\n"
        )
    os.chmod(path, 0o600)  # in case the file existed with wider permissions


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated when asked for, in the active language
        return _(
            "Load the seed's reference data (pillars, scenario types, tech partners and their figures), then "
            "the illustrative demo banks, users and initiatives, and a demo superuser. Safe to run again."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-demo", action="store_true", help=_("Load the reference data only."))
        parser.add_argument("--quiet", action="store_true", help=_("Print nothing but errors."))
        parser.add_argument(
            "--demo-file",
            default=str(DEMO_FILE),
            help=_("The demo data file (default: fixtures/demo.yaml)."),
        )

    def handle(self, *args, **options) -> None:
        demo = not options["no_demo"]
        quiet = options["quiet"] or options["verbosity"] == 0
        path = credentials_path()
        password, origin = None, None
        if demo:
            password, origin = self._password(path)
        try:
            with transaction.atomic():
                result = seed_all(demo=demo, password=password, demo_path=Path(options["demo_file"]))
                responses = demo_data_seeded.send(sender=self.__class__, demo=demo)
                if origin == "generated" and result.created_usernames:
                    write_credentials(path, password, result.usernames)
        except SeedDataError as exc:
            raise CommandError(
                _("Invalid seed data; nothing was written.\n%(errors)s") % {"errors": exc}
            ) from exc
        if not quiet:
            self._summary(result, demo=demo, password=password, origin=origin, path=path)
            for _receiver, lines in responses:
                for line in lines or []:
                    self.stdout.write(f"  {line}")

    def _password(self, path: Path) -> tuple[str, str]:
        if settings.SCORECARD_DEMO_PASSWORD:
            return settings.SCORECARD_DEMO_PASSWORD, "setting"
        if path.exists():
            return read_credentials(path), "file"
        return secrets.token_urlsafe(12), "generated"

    def _summary(
        self, result: SeedResult, *, demo: bool, password: str | None, origin: str | None, path: Path
    ):
        write = self.stdout.write
        write(_("Reference and demo data loaded.") if demo else _("Reference data loaded."))
        for model, count in result.counts.items():
            write(
                "  "
                + _("%(entity)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged")
                % {
                    "entity": model._meta.verbose_name_plural,
                    "created": count.created,
                    "updated": count.updated,
                    "unchanged": count.unchanged,
                }
            )
        if not result.changed:
            write(_("Nothing changed: the database already matched the files."))
        if not demo:
            return
        try:
            admin_url = reverse("admin:index")
        except NoReverseMatch:
            admin_url = "/admin/"
        # The port `make run` serves on (it passes WEB_PORT to this command too).
        port = os.environ.get("WEB_PORT") or "8000"
        write(_("Admin: http://127.0.0.1:%(port)s%(url)s") % {"port": port, "url": admin_url})
        users = ", ".join(result.usernames)
        if origin == "setting":
            write(
                _("demo credentials: %(users)s / the password in SCORECARD_DEMO_PASSWORD") % {"users": users}
            )
        elif origin == "generated" and not result.created_usernames:
            self.stderr.write(
                _(
                    "The demo users already existed and %(path)s is missing: they keep their earlier "
                    "password. "
                    "Set a new one with `manage.py changepassword <username>`."
                )
                % {"path": path}
            )
        else:
            write(
                _("demo credentials: %(users)s / password %(password)s (stored in %(path)s)")
                % {"users": users, "password": password, "path": path}
            )
        if len(result.created_usernames) < len(result.usernames):
            write(_("(A password is set only when a user is created; existing users keep theirs.)"))
        if DEMO_ADMIN_USERNAME in result.usernames:
            write(
                _("%(admin)s is a superuser; the other demo users are staff with bank roles.")
                % {"admin": DEMO_ADMIN_USERNAME}
            )
