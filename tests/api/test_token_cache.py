"""The API token cache (partnerships/api/token_cache.py): a token's user and roles are read once, and every write
that changes them — whichever door — is seen by the next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from partnerships.api.token_cache import _cache_key, token_cache_get, token_cache_put
from partnerships.models import Membership
from partnerships.signon.models import DirectoryAccount, ExternalSource
from partnerships.signon.services.accounts import directory_account_disable
from tests.api.conftest import API

pytestmark = pytest.mark.django_db


def _get(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return response, [q["sql"] for q in ctx.captured_queries]


def test_the_second_request_reads_no_token(world, client_as):
    user = world.user("viewer")
    client = client_as(user)
    url = f"{API}initiatives/{world.initiatives['A'].pk}/"
    first, sql_first = _get(client, url)
    second, sql_second = _get(client, url)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert any("authtoken_token" in q for q in sql_first)
    assert not any("authtoken_token" in q or "partnerships_membership" in q for q in sql_second), sql_second
    assert len(sql_second) == len(sql_first) - 1
    # Keyed by a digest: the token itself is not in the cache's key.
    key = Token.objects.get(user=user).key
    assert key not in _cache_key(key)
    assert token_cache_get(key) is not None


def test_a_membership_removed_or_changed_is_seen_at_once(world, client_as):
    user = world.user("viewer")
    client = client_as(user)
    url = f"{API}initiatives/{world.initiatives['A'].pk}/"
    assert client.get(url).status_code == 200  # cached now
    membership = Membership.objects.get(user=user)
    membership.role = "manager"
    membership.save()
    assert token_cache_get(Token.objects.get(user=user).key) is None
    membership.delete()
    assert client.get(url).status_code == 404
    Membership.objects.create(user=user, bank=world.banks["B"], role="viewer")
    assert client.get(f"{API}initiatives/{world.initiatives['B'].pk}/").status_code == 200


def test_a_user_made_inactive_is_refused_at_once(world, client_as):
    user = world.user("analyst")
    client = client_as(user)
    assert client.get(f"{API}initiatives/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get(f"{API}initiatives/").status_code == 401


def test_a_disabled_directory_account_is_refused_at_once(world, client_as):
    # directory_account_disable writes with QuerySet.update() (no signal) and deletes the tokens.
    user = world.user("analyst")
    account = DirectoryAccount.objects.create(user=user, source=ExternalSource.LDAP, subject="analyst_a")
    client = client_as(user)
    assert client.get(f"{API}initiatives/").status_code == 200
    directory_account_disable(account=account, reason="test")
    assert client.get(f"{API}initiatives/").status_code == 401


def test_a_stale_answer_stored_before_the_commit_is_forgotten_after_it(
    world, client_as, django_capture_on_commit_callbacks
):
    user = world.user("viewer")
    client = client_as(user)
    url = f"{API}initiatives/{world.initiatives['A'].pk}/"
    assert client.get(url).status_code == 200
    key = Token.objects.get(user=user).key
    stale = token_cache_get(key)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            Membership.objects.filter(user=user).get().delete()
            # A request that read the rows before this commit stores the old answer.
            token_cache_put(key, *stale)
            assert token_cache_get(key) is not None
    assert token_cache_get(key) is None
    assert client.get(url).status_code == 404


def test_a_cache_outage_falls_back_to_the_database(world, client_as, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    client = client_as(world.user("viewer"))
    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert client.get(f"{API}initiatives/{world.initiatives['A'].pk}/").status_code == 200


def test_the_redis_cache_builds_one_client_per_pool():
    from django.core.cache import caches

    from config.cache import RedisCache

    default = caches["default"]
    assert isinstance(default, RedisCache)
    client = default._cache.get_client("a")
    assert default._cache.get_client("b", write=True) is client
    default.set("token-cache-test", 1, 5)
    assert default.get("token-cache-test") == 1
