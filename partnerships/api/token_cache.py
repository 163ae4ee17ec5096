"""The API token's user and bank roles, cached between requests and forgotten by every write that changes them.

Every API request authenticates its token: one query for the token, its user, the user's directory account and
bank roles (partnerships/api/authentication.py), about a third of a detail request's time under load. The
answer changes only when one of those rows does, so it is kept in the default cache (Redis in production; the
file cache of the embedded default) under a digest of the token — never the token itself — for
``TOKEN_CACHE_SECONDS``, and deleted:

* by the receivers below on every save or delete of a Token, a User, a Membership or a DirectoryAccount,
  whichever door wrote it (admin, API, import, sign-on, archive), cascades included;
* by ``token_cache_forget`` called from the services that write those rows with ``QuerySet.update()``, which
  sends no signal (partnerships/signon/services);
* by ``token_cache_forget_all`` after an archive restore (rows written with ``bulk_create``).

Each deletion happens at once and again after the transaction commits: a request that read the old rows just
before the commit and stored them just after is the only way a stale answer survives, and then for at most
``TOKEN_CACHE_SECONDS``. The per-request checks on the cached user still run: inactive users are refused and a
stale directory account is re-checked (``token_user_allowed``).

A library would do this (django-cacheops caches querysets with invalidation), but it caches by query shape for
the whole project and patches the ORM; one entry with explicit invalidation is what this path needs.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.db import transaction

logger = logging.getLogger(__name__)

TOKEN_CACHE_SECONDS = 60
_PREFIX = "apitoken:v1:"


def _cache_key(token_key: str) -> str:
    return _PREFIX + hashlib.sha256(token_key.encode()).hexdigest()


def token_cache_get(token_key: str):
    """(token with its user and directory account, {bank_id: role}) or None."""
    try:
        return cache.get(_cache_key(token_key))
    except Exception:  # a cache outage must not refuse a valid token: read the database
        logger.warning("token cache unreachable; reading the token from the database", exc_info=True)
        return None


def token_cache_get_counting(token_key: str, counter_key: str, expiry: int):
    """``token_cache_get`` and one increment of the throttle counter ``counter_key`` (expiring ``expiry`` seconds
    after its last hit), in one Redis round trip: (the cached answer or None, the counter's new value or None).

    The throttle counts in the same cache (``partnerships.api.throttling``); the two reads were one round trip
    each on every API request. With any other cache, or when Redis fails, nothing is counted here (None) and the
    throttle counts by itself as before."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return token_cache_get(token_key), None
    try:
        name = backend.make_and_validate_key(_cache_key(token_key))
        counter = backend.make_and_validate_key(counter_key)
        # The write client, as the throttle's counter needs; the answer is read from the same server.
        pipe = backend._cache.get_client(name, write=True).pipeline(transaction=False)
        pipe.get(name)
        pipe.incr(counter)
        pipe.expire(counter, expiry)
        raw, count, _ = pipe.execute()
        return (None if raw is None else backend._cache._serializer.loads(raw)), int(count)
    except Exception:  # a cache outage must not refuse a valid token: read the database, count apart
        logger.warning("token cache unreachable; reading the token from the database", exc_info=True)
        return None, None


# Which user a token key belongs to, as last authenticated in this process, by the key's digest. A key is the
# token's primary key and a token is one user's, so a known answer stays right; it only says which user's
# throttle window to count while the token's cached answer is read (token_cache_get_counting). Bounded.
_TOKEN_USERS: dict[str, int] = {}
_TOKEN_USERS_MAX = 10_000


def token_user_hint(token_key: str) -> int | None:
    return _TOKEN_USERS.get(_cache_key(token_key))


def token_user_remember(token_key: str, user_id: int) -> None:
    if len(_TOKEN_USERS) >= _TOKEN_USERS_MAX:
        _TOKEN_USERS.clear()
    _TOKEN_USERS[_cache_key(token_key)] = user_id


def token_cache_put(token_key: str, token, roles: dict[int, str]) -> None:
    try:
        cache.set(_cache_key(token_key), (token, dict(roles)), TOKEN_CACHE_SECONDS)
    except Exception:  # the answer was read from the database; not caching it only costs time
        logger.warning("token cache unreachable; not caching", exc_info=True)


def _delete(keys: list[str]) -> None:
    if not keys:
        return
    names = [_cache_key(k) for k in keys]
    try:
        cache.delete_many(names)
    except Exception:  # logged: a stale entry then lives at most TOKEN_CACHE_SECONDS
        logger.error("token cache unreachable; %d entries not forgotten", len(names), exc_info=True)


def _forget_keys(keys: list[str]) -> None:
    if not keys:
        return  # a user without a token: nothing is cached, nothing to do after the commit either
    _delete(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _delete(keys), robust=True)


def token_cache_forget(*, user_id: int | None = None, token_key: str | None = None) -> None:
    """Forget the cached answer of one token, or of every token of a user."""
    keys = [token_key] if token_key else []
    if user_id is not None:
        from rest_framework.authtoken.models import Token

        keys += list(Token.objects.filter(user_id=user_id).values_list("key", flat=True))
    _forget_keys(keys)


def token_cache_forget_all() -> None:
    """Forget the cached answer of every token (after an archive restore)."""
    from rest_framework.authtoken.models import Token

    _forget_keys(list(Token.objects.values_list("key", flat=True)))


def _user_changed(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every sign-in writes it; nothing the API decides on changed
    token_cache_forget(user_id=instance.pk)


def _owner_changed(sender, instance, **kwargs) -> None:
    token_cache_forget(user_id=instance.user_id)


def _token_changed(sender, instance, **kwargs) -> None:
    _forget_keys([instance.key])


def connect_receivers() -> None:
    """Called once from PartnershipsConfig.ready()."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save
    from rest_framework.authtoken.models import Token

    from ..models import DirectoryAccount, Membership

    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_user_changed, sender=get_user_model(), dispatch_uid=f"token_cache_user_{name}")
        signal.connect(_token_changed, sender=Token, dispatch_uid=f"token_cache_token_{name}")
        for model in (Membership, DirectoryAccount):
            signal.connect(_owner_changed, sender=model, dispatch_uid=f"token_cache_{model.__name__}_{name}")
