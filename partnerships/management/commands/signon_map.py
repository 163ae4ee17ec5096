"""signon_map: list, add or remove group → (bank, role) mappings (partnerships.signon, docs/sign-on.md).

    python manage.py signon_map list [--source ldap|oidc]
    python manage.py signon_map add --source ldap --group "cn=analysts,ou=groups,dc=bank,dc=cn" --bank CODE --role analyst
    python manage.py signon_map remove --source ldap --group "cn=analysts,ou=groups,dc=bank,dc=cn" --bank CODE

A change applies at each member's next sign-in (or directory re-check).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from partnerships.errors import ServiceError
from partnerships.signon.models import GroupMapping
from partnerships.signon.services.mapping import group_mapping_create, group_mapping_delete


class Command(BaseCommand):
    help = "List, add or remove the mappings of directory / identity-provider groups to bank roles."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "add", "remove"])
        parser.add_argument("--source", choices=["ldap", "oidc"])
        parser.add_argument("--group", help="LDAP: the group's DN; OIDC: a value of the groups claim")
        parser.add_argument("--bank", help="the bank's code")
        parser.add_argument("--role", help="viewer, analyst or manager")

    def handle(self, *args, action, source=None, group=None, bank=None, role=None, **options):
        if action == "list":
            rows = GroupMapping.objects.select_related("bank").order_by("source", "group", "bank__code")
            if source:
                rows = rows.filter(source=source)
            for row in rows:
                self.stdout.write(f"{row.source}\t{row.group}\t{row.bank.code}\t{row.role}")
            return
        needed = {"--source": source, "--group": group, "--bank": bank}
        if action == "add":
            needed["--role"] = role
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise CommandError(f"signon_map {action}: {', '.join(missing)} required")
        try:
            if action == "add":
                mapping = group_mapping_create(source=source, group=group, bank=bank, role=role)
                self.stdout.write(
                    f"added: {mapping.source}\t{mapping.group}\t{mapping.bank.code}\t{mapping.role}"
                )
            else:
                group_mapping_delete(source=source, group=group, bank=bank)
                self.stdout.write(f"removed: {source}\t{group}\t{bank}")
        except ServiceError as error:
            raise CommandError(f"signon_map {action}: " + "; ".join(error.messages())) from error
