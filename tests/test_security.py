"""Brute-force protection on the admin login (django-axes): repeated failures lock the username out."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_login_locks_out_after_repeated_failures(client, settings):
    user = UserFactory(username="analyst_x", password=None)
    user.set_password("the-right-password-9")
    user.save()
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "analyst_x", "password": "wrong"})
        assert response.status_code == 200  # the form says the password is wrong
    assert client.post(url, {"username": "analyst_x", "password": "wrong"}).status_code == 429  # the limit
    locked = client.post(url, {"username": "analyst_x", "password": "the-right-password-9"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_successful_login_is_unaffected(client):
    user = UserFactory(username="analyst_y", password=None)
    user.set_password("the-right-password-9")
    user.save()
    response = client.post(
        reverse("admin:login"), {"username": "analyst_y", "password": "the-right-password-9"}
    )
    assert response.status_code == 302
