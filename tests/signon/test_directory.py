"""Signing in with the bank's directory: a real slapd (tests/signon/directory.py), Django's test client and the API.

Groups map to bank roles at every sign-in; removed from a group, the membership goes; a disabled account cannot
sign in and its token stops working; a directory that is down or silent gives a clear message within seconds while
local accounts still sign in; a user with no mapped group gets "no access yet" and no role.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.models import DirectoryAccount, MappedMembership, Membership, SignOnEvent
from partnerships.signon.services.mapping import group_mapping_create
from tests.factories import BankFactory, MembershipFactory, UserFactory
from tests.processes import free_port
from tests.signon.directory import group_dn, user_dn

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
User = get_user_model()


def _sign_in(client: Client, username: str, password: str, language: str = "en"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def _roles(username: str) -> dict[str, str]:
    return dict(Membership.objects.filter(user__username=username).values_list("bank__code", "role"))


def test_ldap_sign_in_maps_groups_to_roles(use_directory, banks):
    ldap = use_directory()
    ldap.add_user("alice", "alice-test-pw", given="Alice", surname="Li")
    ldap.add_group("sc-analysts-a", "alice")
    ldap.add_group("sc-managers-b", "alice")
    ldap.add_group("sc-viewers-a", "alice")
    group_mapping_create(source="ldap", group=group_dn("sc-analysts-a"), bank="sso-a", role="analyst")
    group_mapping_create(source="ldap", group=group_dn("sc-viewers-a"), bank="sso-a", role="viewer")
    # The DN as an administrator might type it: another case, spaces after the commas.
    typed = group_dn("SC-Managers-B").upper().replace(",", ", ")
    group_mapping_create(source="ldap", group=typed, bank="sso-b", role="manager")

    client = Client()
    response = _sign_in(client, "alice", "alice-test-pw")
    assert response.status_code == 302 and response["Location"] == "/admin/", response.content[:500]
    assert client.get("/admin/").status_code == 200  # no second factor for a directory user
    alice = User.objects.get(username="alice")
    assert (alice.is_staff, alice.is_superuser, alice.has_usable_password()) == (True, False, False)
    assert (alice.first_name, alice.last_name, alice.email) == ("Alice", "Li", "alice@bank.test")
    assert _roles("alice") == {
        "sso-a": "analyst",
        "sso-b": "manager",
    }  # the highest role a bank's groups give
    assert MappedMembership.objects.filter(membership__user=alice).count() == 2
    account = DirectoryAccount.objects.get(user=alice)
    assert (account.source, account.subject.lower()) == ("ldap", user_dn("alice").lower())
    events = list(SignOnEvent.objects.filter(user=alice).values_list("kind", "method", "channel"))
    assert ("signed_in", "ldap", "admin") in events
    assert events.count(("role_granted", "ldap", "admin")) == 2
    signed_in = SignOnEvent.objects.get(user=alice, kind="signed_in")
    assert (
        signed_in.ip_address == "127.0.0.1" and group_dn("sc-analysts-a").lower() in signed_in.detail.lower()
    )


def test_roles_follow_the_groups_at_the_next_sign_in_and_hand_given_ones_stay(use_directory, banks):
    ldap = use_directory()
    ldap.add_user("bruno", "bruno-test-pw")
    ldap.add_group("sc2-analysts-a", "bruno")
    ldap.add_group("sc2-viewers-b", "bruno")
    group_mapping_create(source="ldap", group=group_dn("sc2-analysts-a"), bank="sso-a", role="analyst")
    group_mapping_create(source="ldap", group=group_dn("sc2-viewers-b"), bank="sso-b", role="viewer")
    group_mapping_create(source="ldap", group=group_dn("sc2-managers-b"), bank="sso-b", role="manager")
    assert _sign_in(Client(), "bruno", "bruno-test-pw").status_code == 302
    bruno = User.objects.get(username="bruno")
    MembershipFactory(user=bruno, bank=BankFactory(code="sso-hand"), role="viewer")  # given by hand
    assert _roles("bruno") == {"sso-a": "analyst", "sso-b": "viewer", "sso-hand": "viewer"}

    ldap.remove_member("sc2-analysts-a", "bruno")  # leaves the group: the membership goes
    ldap.add_group("sc2-managers-b", "bruno")  # joins a higher group in bank B: the role rises
    assert _sign_in(Client(), "bruno", "bruno-test-pw").status_code == 302
    assert _roles("bruno") == {"sso-b": "manager", "sso-hand": "viewer"}
    kinds = list(
        SignOnEvent.objects.filter(user=bruno).exclude(bank_code="").values_list("kind", "bank_code")
    )
    assert ("role_removed", "sso-a") in kinds and ("role_changed", "sso-b") in kinds

    ldap.remove_member("sc2-viewers-b", "bruno")
    ldap.remove_member("sc2-managers-b", "bruno")
    response = _sign_in(Client(), "bruno", "bruno-test-pw")
    # The hand-given membership keeps him staff: he signs in, with that role only.
    assert response.status_code == 302 and _roles("bruno") == {"sso-hand": "viewer"}


def test_no_mapped_group_means_no_access_yet_and_no_role(use_directory, banks):
    ldap = use_directory()
    ldap.add_user("carol", "carol-test-pw")
    ldap.add_group("sc-unmapped", "carol")
    client = Client()
    response = _sign_in(client, "carol", "carol-test-pw", language="zh-hans")
    assert response.status_code == 302 and response["Location"] == reverse("signon:no-access")
    assert "_auth_user_id" not in client.session  # not signed in
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "尚无访问权限" in page and "carol" in page and group_dn("sc-unmapped") in page
    english = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No access yet" in english and "none of your groups gives you a role" in english
    carol = User.objects.get(username="carol")
    assert (carol.is_staff, carol.is_superuser) == (False, False)
    assert not Membership.objects.filter(user=carol).exists()
    assert SignOnEvent.objects.filter(user=carol, kind="no_access").exists()
    # No token either.
    refused = APIClient().post(TOKEN_URL, {"username": "carol", "password": "carol-test-pw"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "no_access"
    assert not Token.objects.filter(user=carol).exists()


def test_a_disabled_account_cannot_sign_in_and_its_token_stops_working(use_directory, banks):
    ldap = use_directory()
    ldap.add_user("dave", "dave-test-pw")
    ldap.add_user("dora", "dora-test-pw", disabled=True)  # disabled from the start (userAccountControl 514)
    ldap.add_group("sc3-analysts-a", "dave", "dora")
    group_mapping_create(source="ldap", group=group_dn("sc3-analysts-a"), bank="sso-a", role="analyst")

    issued = APIClient().post(TOKEN_URL, {"username": "dave", "password": "dave-test-pw"}, format="json")
    assert issued.status_code == 200, issued.content
    token = issued.json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/banks/").status_code == 200
    assert SignOnEvent.objects.filter(
        username="dave", kind="token_created", method="ldap", channel="api"
    ).exists()

    ldap.set_disabled("dave", True)
    # The next request with the token re-checks the account (SIGNON_DIRECTORY_CHECK_SECONDS is 0 here).
    refused = api.get("/api/v1/banks/")
    assert refused.status_code == 401
    dave = User.objects.get(username="dave")
    assert not dave.is_active and DirectoryAccount.objects.get(user=dave).disabled
    assert not Token.objects.filter(user=dave).exists()
    assert SignOnEvent.objects.filter(user=dave, kind="account_disabled").exists()
    assert _sign_in(Client(), "dave", "dave-test-pw").status_code == 200  # the form again: refused
    assert (
        APIClient()
        .post(TOKEN_URL, {"username": "dave", "password": "dave-test-pw"}, format="json")
        .status_code
        == 400
    )

    refused_dora = _sign_in(Client(), "dora", "dora-test-pw")
    assert refused_dora.status_code == 200 and not User.objects.filter(username="dora").exists()
    assert SignOnEvent.objects.filter(username="dora", kind="sign_in_failed", method="ldap").exists()

    ldap.set_disabled("dave", False)  # enabled again in the directory: he may sign in again
    assert _sign_in(Client(), "dave", "dave-test-pw").status_code == 302
    assert User.objects.get(username="dave").is_active


def test_a_session_ends_when_the_directory_disables_the_account(use_directory, banks):
    ldap = use_directory()
    ldap.add_user("dina", "dina-test-pw")
    ldap.add_group("sc4-analysts-a", "dina")
    group_mapping_create(source="ldap", group=group_dn("sc4-analysts-a"), bank="sso-a", role="analyst")
    client = Client()
    assert _sign_in(client, "dina", "dina-test-pw").status_code == 302
    assert client.get("/admin/").status_code == 200
    ldap.set_disabled("dina", True)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_directory_user_cannot_take_over_a_local_account(use_directory, banks):
    ldap = use_directory()
    local = UserFactory(username="erin", is_superuser=True, password=None)
    local.set_password("local-erin-test-pw")
    local.save()
    ldap.add_user("erin", "directory-erin-test-pw")
    ldap.add_group("sc5-analysts-a", "erin")
    group_mapping_create(source="ldap", group=group_dn("sc5-analysts-a"), bank="sso-a", role="analyst")
    assert _sign_in(Client(), "erin", "directory-erin-test-pw").status_code == 200  # refused
    assert not DirectoryAccount.objects.filter(user=local).exists()
    assert not Membership.objects.filter(user=local).exists()


class _Silent:
    """A TCP server that accepts connections and never answers: a directory that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("fault", ["down", "silent"])
def test_a_directory_that_is_down_or_silent_gives_a_clear_message_fast_and_local_accounts_work(
    use_directory, banks, fault
):
    silent = _Silent() if fault == "silent" else None
    port = silent.port if silent else free_port()  # nothing listens on a fresh free port
    try:
        use_directory(LDAP_SERVER_URI=f"ldap://127.0.0.1:{port}")
        client = Client()
        started = time.monotonic()
        response = _sign_in(client, "frank", "frank-test-pw", language="zh-hans")
        took = time.monotonic() - started
        assert response.status_code == 200 and took < 6, took
        page = response.content.decode()
        assert "无法连接本行目录" in page, page[-1500:]
        english = _sign_in(Client(), "frank", "frank-test-pw").content.decode()
        assert "directory cannot be reached" in english and "local accounts still sign in" in english
        event = SignOnEvent.objects.filter(username="frank", kind="directory_unreachable").first()
        assert event is not None and event.method == "ldap"

        local = UserFactory(username="grace_local", password=None)
        local.set_password("local-grace-test-pw")
        local.save()
        MembershipFactory(user=local, bank=banks["A"], role="analyst")
        started = time.monotonic()
        assert _sign_in(client, "grace_local", "local-grace-test-pw").status_code == 302
        assert time.monotonic() - started < 2  # a local account never waits for the directory
    finally:
        if silent:
            silent.close()
