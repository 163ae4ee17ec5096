"""The mapping as data (management command and admin, superusers only), the sign-in audit (read-only, superusers
only) and the settings read from the environment."""

from __future__ import annotations

import io

import ldap
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from config.settings.signon import ldap_settings, oidc_settings
from partnerships.models import GroupMapping, SignOnEvent
from partnerships.signon.conf import ldap_enabled, oidc_enabled
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("signon_map", *args, stdout=out)
    return out.getvalue()


def test_the_mapping_command_adds_lists_and_removes(banks):
    added = _run(
        "add",
        "--source",
        "ldap",
        "--group",
        "CN=Analysts, OU=Groups,DC=Bank,DC=Test",
        "--bank",
        "sso-a",
        "--role",
        "analyst",
    )
    assert "cn=analysts,ou=groups,dc=bank,dc=test" in added  # a DN is kept in one spelling
    _run("add", "--source", "oidc", "--group", "Scorecard Managers", "--bank", "sso-b", "--role", "manager")
    listed = _run("list").splitlines()
    assert listed == [
        "ldap\tcn=analysts,ou=groups,dc=bank,dc=test\tsso-a\tanalyst",
        "oidc\tScorecard Managers\tsso-b\tmanager",
    ]
    assert _run("list", "--source", "oidc").splitlines() == listed[1:]
    _run("remove", "--source", "ldap", "--group", "cn=analysts,ou=groups,dc=bank,dc=test", "--bank", "sso-a")
    assert GroupMapping.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add", "--source", "ldap", "--group", "cn=x", "--bank", "no-such-bank", "--role", "analyst"],
            "bank: No bank",
        ),
        (
            ["add", "--source", "ldap", "--group", "cn=x", "--bank", "sso-a", "--role", "admin"],
            "role: Choose one of",
        ),
        (["add", "--source", "ldap", "--group", "cn=x", "--bank", "sso-a"], "--role required"),
        (
            ["add", "--source", "ldap", "--group", "  ", "--bank", "sso-a", "--role", "viewer"],
            "group: Name the group",
        ),
        (["remove", "--source", "oidc", "--group", "nothing", "--bank", "sso-a"], "No such mapping"),
    ],
)
def test_bad_input_to_the_command_names_the_field(banks, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert GroupMapping.objects.count() == 0


def test_a_mapping_twice_is_refused(banks):
    _run("add", "--source", "oidc", "--group", "g", "--bank", "sso-a", "--role", "viewer")
    with pytest.raises(CommandError, match="already mapped"):
        _run("add", "--source", "oidc", "--group", "g", "--bank", "sso-a", "--role", "manager")


def test_superusers_manage_mappings_and_read_the_audit_in_the_admin_members_cannot(banks):
    root = UserFactory(username="audit_root", is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)
    add = client.post(
        reverse("admin:partnerships_groupmapping_add"),
        {"source": "oidc", "group": "Risk Office", "bank": banks["A"].pk, "role": "analyst"},
    )
    assert add.status_code == 302, add.content[-2000:]
    assert GroupMapping.objects.filter(group="Risk Office", role="analyst").exists()
    bad = client.post(
        reverse("admin:partnerships_groupmapping_add"),
        {"source": "oidc", "group": "Risk Office", "bank": banks["A"].pk, "role": "analyst"},
    )
    assert bad.status_code == 200 and bad.context["adminform"].form.errors  # the same mapping again

    SignOnEvent.objects.create(
        kind="sign_in_failed", method="ldap", channel="admin", username="someone", ip_address="10.1.2.3"
    )
    listing = client.get(reverse("admin:partnerships_signonevent_changelist"))
    assert listing.status_code == 200 and "10.1.2.3" in listing.content.decode()
    event = SignOnEvent.objects.get(username="someone")
    assert (
        client.post(reverse("admin:partnerships_signonevent_change", args=[event.pk]), {}).status_code == 403
    )
    assert (
        client.post(
            reverse("admin:partnerships_signonevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert SignOnEvent.objects.filter(pk=event.pk).exists()

    manager = UserFactory(username="audit_manager")
    MembershipFactory(user=manager, bank=banks["A"], role="manager")
    member = Client()
    member.force_login(manager)
    assert member.get(reverse("admin:partnerships_signonevent_changelist")).status_code == 403
    assert member.get(reverse("admin:partnerships_groupmapping_changelist")).status_code == 403


def test_sign_on_is_off_unless_configured_and_built_from_the_environment():
    assert not ldap_enabled() and not oidc_enabled()  # the test environment sets neither
    built = ldap_settings(
        {
            "LDAP_SERVER_URI": "ldaps://ad.bank.example:636",
            "LDAP_BIND_DN": "cn=svc",
            "LDAP_USER_SEARCH_BASE": "ou=people,dc=bank",
            "LDAP_USER_FILTER": "(sAMAccountName=%(user)s)",
            "LDAP_GROUP_TYPE": "nestedActiveDirectory",
            "LDAP_START_TLS": "true",
            "LDAP_TIMEOUT": "4",
        }
    )
    assert (
        built["AUTH_LDAP_SERVER_URI"] == "ldaps://ad.bank.example:636"
        and built["AUTH_LDAP_START_TLS"] is True
    )
    assert built["AUTH_LDAP_USER_SEARCH"].filterstr == "(sAMAccountName=%(user)s)"
    assert built["AUTH_LDAP_CONNECTION_OPTIONS"][ldap.OPT_NETWORK_TIMEOUT] == 4.0
    assert type(built["AUTH_LDAP_GROUP_TYPE"]).__name__ == "NestedActiveDirectoryGroupType"
    with pytest.raises(ValueError, match="LDAP_GROUP_TYPE"):
        ldap_settings({"LDAP_GROUP_TYPE": "nonsense"})
    oidc = oidc_settings({"OIDC_RP_CLIENT_ID": "x"})
    assert oidc["OIDC_USE_PKCE"] is True and oidc["OIDC_PKCE_CODE_CHALLENGE_METHOD"] == "S256"
