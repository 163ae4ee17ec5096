"""A row of each sign-on model, for the tests that walk every admin page (route matrix, Chinese crawl, layout)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice


def signon_rows(*, bank, user) -> dict:
    """A group mapping in ``bank``, a directory account, ``user``'s confirmed second factor and an audit row."""
    from partnerships.models import DirectoryAccount, GroupMapping, SecondFactor, SignOnEvent

    mapping, _created = GroupMapping.objects.get_or_create(
        source="ldap",
        group="cn=scorecard-analysts,ou=groups,dc=bank,dc=test",
        bank=bank,
        defaults={"role": "analyst"},
    )
    member, _created = get_user_model().objects.get_or_create(username="directory_member")
    account, _created = DirectoryAccount.objects.get_or_create(
        user=member,
        defaults={
            "source": "ldap",
            "subject": "uid=directory_member,ou=people,dc=bank,dc=test",
            "groups": ["cn=scorecard-analysts,ou=groups,dc=bank,dc=test"],
        },
    )
    device = TOTPDevice.objects.filter(user=user, name="authenticator", confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    event = SignOnEvent.objects.create(
        kind="signed_in",
        method="ldap",
        channel="admin",
        user=member,
        username=member.username,
        ip_address="10.0.0.2",
    )
    return {
        "partnerships.groupmapping": mapping,
        "partnerships.directoryaccount": account,
        "partnerships.secondfactor": SecondFactor.objects.get(pk=device.pk),
        "partnerships.signonevent": event,
    }
