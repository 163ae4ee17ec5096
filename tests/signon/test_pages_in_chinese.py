"""Sign-on's pages read in Chinese, with no English left in the UI (tests/ui_text.py's check): the admin pages of
its models for a superuser, and the second-factor, "no access yet" and login pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from partnerships.models import Bank
from tests.factories import MembershipFactory, UserFactory
from tests.signon.rows import signon_rows
from tests.ui_text import EnglishFinder, data_strings

pytestmark = pytest.mark.django_db


def _english(
    client: Client, url: str, finder: EnglishFinder, *, status: int = 200, method: str = "get"
) -> list[str]:
    response = getattr(client, method)(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == status, (url, response.status_code)
    html = response.content.decode()
    assert 'lang="zh-hans"' in html, url
    return [f"{url}: {found}" for found in finder.in_html(html)]


def test_the_sign_on_admin_pages_speak_chinese(banks, settings):
    root = UserFactory(username="zh_root", is_superuser=True)
    rows = signon_rows(bank=Bank.objects.get(code="sso-a"), user=root)
    client = Client()
    client.force_login(root)
    finder = EnglishFinder(data_strings())
    english: list[str] = []
    for label, obj in rows.items():
        app, model = label.split(".")
        english += _english(client, reverse(f"admin:{app}_{model}_changelist"), finder)
        english += _english(client, reverse(f"admin:{app}_{model}_change", args=[obj.pk]), finder)
        english += _english(client, reverse(f"admin:{app}_{model}_history", args=[obj.pk]), finder)
    english += _english(client, reverse("admin:partnerships_groupmapping_add"), finder)
    english += _english(
        client,
        reverse("admin:partnerships_secondfactor_delete", args=[rows["partnerships.secondfactor"].pk]),
        finder,
    )
    assert not english, "\n".join(english)


def test_the_second_factor_and_no_access_pages_speak_chinese(banks):
    manager = UserFactory(username="zh_manager", password=None)
    manager.set_password("zh-manager-test-pw")
    manager.save()
    MembershipFactory(user=manager, bank=banks["A"], role="manager")
    client = Client()
    client.post(reverse("admin:login"), {"username": "zh_manager", "password": "zh-manager-test-pw"})
    finder = EnglishFinder(data_strings())
    english = _english(client, reverse("signon:enrol"), finder)
    signed_in = Client()
    signed_in.force_login(manager)
    english += _english(signed_in, reverse("signon:status"), finder)  # not set up yet
    signon_rows(
        bank=banks["A"], user=manager
    )  # now set up: the code page, and the status page with codes left
    english += _english(client, reverse("signon:verify"), finder)
    english += _english(signed_in, reverse("signon:status"), finder)
    english += _english(Client(), reverse("signon:no-access"), finder)
    english += _english(Client(), reverse("admin:login"), finder)
    assert not english, "\n".join(english)
