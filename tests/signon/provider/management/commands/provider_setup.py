"""Register Scorecard as a client and create users with groups: provider_setup --client ID SECRET REDIRECT
[--user NAME PASSWORD GROUP,GROUP ...]."""

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from oauth2_provider.models import Application


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--client", nargs=3, metavar=("ID", "SECRET", "REDIRECT"))
        parser.add_argument(
            "--user", nargs=3, action="append", default=[], metavar=("NAME", "PASSWORD", "GROUPS")
        )

    def handle(self, *args, client=None, user=(), **options):
        if client:
            client_id, secret, redirect = client
            Application.objects.filter(client_id=client_id).delete()
            Application.objects.create(
                name="Scorecard",
                client_id=client_id,
                client_secret=secret,
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=redirect,
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=True,
            )
        for name, password, groups in user:
            account, _created = User.objects.get_or_create(username=name)
            account.email = f"{name}@bank.test"
            account.first_name = name.title()
            account.set_password(password)
            account.save()
            account.groups.set([Group.objects.get_or_create(name=g)[0] for g in groups.split(",") if g])
        self.stdout.write("ok")
