"""Signing in: tokens for scripts, sessions for the browsable API, and the throttle on guessing."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.api.conftest import API
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = f"{API}auth/token/"
PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory


def test_a_token_for_username_and_password_then_requests_with_it(world, api_client):
    response = api_client.post(TOKEN, {"username": "analyst_a", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=world.user("analyst")).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"{API}initiatives/").json()["count"] == 1
    # Asking again gives the same token.
    again = api_client.post(TOKEN, {"username": "analyst_a", "password": PASSWORD}, format="json")
    assert again.json()["token"] == token


@pytest.mark.parametrize("fmt", ["multipart", "form"])
def test_a_form_encoded_sign_in_is_415_the_api_takes_json(world, api_client, fmt):
    # The schema offers application/json only; the server holds to it (the session sign-in of the browsable
    # API, auth/login/, is Django's form view and unaffected).
    if fmt == "form":
        response = api_client.post(
            TOKEN, "username=viewer_a&password=x", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = api_client.post(TOKEN, {"username": "viewer_a", "password": PASSWORD}, format=fmt)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Token.objects.filter(user__username="viewer_a").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"username": "analyst_a", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "analyst_a"},
        {},
        {"username": "analyst_a", "password": "x" * 5000},
    ],
)
def test_bad_credentials_are_a_400_without_a_token(world, api_client, body):
    response = api_client.post(TOKEN, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "token" not in response.json()


def test_an_inactive_user_gets_no_token(world, api_client):
    UserFactory(username="gone", is_active=False)
    response = api_client.post(TOKEN, {"username": "gone", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_revoking_the_token(world, api_client):
    token = api_client.post(TOKEN, {"username": "analyst_a", "password": PASSWORD}, format="json").json()[
        "token"
    ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete(TOKEN).status_code == 204
    assert client.get(f"{API}initiatives/").status_code == 401
    assert APIClient().delete(TOKEN).status_code == 401


def test_the_browsable_api_with_a_session(world, client):
    assert client.get(f"{API}auth/login/").status_code == 200
    client.force_login(world.user("viewer"))
    page = client.get(f"{API}initiatives/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "微信支付场景联名卡" in page.content.decode()
    root = client.get(API, HTTP_ACCEPT="application/json")
    assert root.status_code == 200 and "initiatives" in root.json()


def test_a_session_write_needs_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.user("analyst"))
    response = client.post(f"{API}initiatives/", {"title": "x"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]


def test_anonymous_callers_get_401_with_the_scheme(world, api_client):
    response = api_client.get(f"{API}banks/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_guessing_passwords_is_throttled(world, api_client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache("api-auth-throttle-test", {}))
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "3/minute")
    statuses = [
        api_client.post(TOKEN, {"username": "analyst_a", "password": f"guess-{i}"}, format="json").status_code
        for i in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_repeated_failures_lock_the_username_out(world, api_client, settings):
    """django-axes' lockout reaches the API as a 429 in the API's error shape, even with the right password."""
    statuses = [
        api_client.post(TOKEN, {"username": "analyst_a", "password": f"guess-{i}"}, format="json").status_code
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[:-1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    locked = api_client.post(TOKEN, {"username": "analyst_a", "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    # Another username from the same address is not locked out.
    assert (
        api_client.post(TOKEN, {"username": "viewer_a", "password": PASSWORD}, format="json").status_code
        == 200
    )


def test_guessing_tokens_is_throttled(world, api_client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache("api-token-throttle-test", {}))
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/minute")
    statuses = []
    for i in range(4):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token guess{i:036d}")
        statuses.append(api_client.get(f"{API}initiatives/").status_code)
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize(
    "path",
    [
        "",
        "banks/",
        "partners/",
        "pillars/",
        "initiatives/",
        "initiatives/{a1}/",
        "kpis/",
        "assessments/",
        "rubrics/",
        "rubric-versions/",
        "criteria/",
        "score-jobs/",
        "reports/",
        "scoring/preview/",
        "auth/token/",
    ],
)
def test_the_browsable_api_renders_every_page_with_its_forms(world, client, path):
    """A superuser sees the write forms too; the HTML renderer must cope with every serializer."""
    client.force_login(world.user("superuser"))
    url = API + path.format(a1=world.initiatives["A"].pk)
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 405), response.content[:300]
    assert response["Content-Type"].startswith("text/html")


def test_a_token_request_reads_the_user_and_their_bank_roles_in_one_query(world, client_as):
    """Token, user and bank roles in one query; then the row with its partners, its scenario types and its
    personal-data categories (partnerships/api/readers.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(world.user("viewer"))
    url = f"{API}initiatives/{world.initiatives['A'].pk}/"
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert len(ctx.captured_queries) == 2, [q["sql"][:80] for q in ctx.captured_queries]
    assert "ARRAY_AGG" in ctx.captured_queries[0]["sql"]
    # Another bank's initiative is still not found, and a user with no membership sees nothing.
    assert client.get(f"{API}initiatives/{world.initiatives['B'].pk}/").status_code == 404
    loner = client_as(UserFactory(username="no_bank"))
    assert loner.get(f"{API}initiatives/").json()["results"] == []
