"""API throttles: DRF's anonymous, per-user and scoped throttles, counted in fixed windows.

Why not DRF's own classes unchanged: ``SimpleRateThrottle`` keeps a sliding log — the list of every request's
timestamp in the window — and reads, unpickles, pickles and writes that whole list back on every request. Its
cost grows with the rate (at 1,200/minute a busy user's request carries 1,200 floats to Redis and back), and
under a load test it was the single largest cost of a detail request. A fixed-window counter is one ``INCR``:
on Redis, ``INCR`` and ``EXPIRE`` in one pipelined round trip, whatever the rate. The cost of the window
is a burst of up to twice the rate across a window boundary, which these limits (abuse guards, not quotas)
accept. DRF's cache-key rules (user id, client address, scope), rate parsing and ``Retry-After`` are kept.
"""

from __future__ import annotations

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling


class FixedWindowMixin:
    """``allow_request`` with one counter per caller and window instead of a timestamp log."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        counter_key = f"{self.key}:{window}"
        # Counted already with the token's read (partnerships/api/authentication.py), or counted now.
        count = (getattr(request, "_throttle_counted", None) or {}).pop(counter_key, None)
        if count is None:
            count = self._increment(counter_key)
        return count <= self.num_requests

    def _increment(self, key: str) -> int:
        # DRF's ``cache`` is Django's default-cache proxy; the backend behind it says whether this is Redis.
        cache = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if isinstance(cache, RedisCache):
            # One round trip. Django's RedisCache.incr costs two (EXISTS, then INCRBY) and sets no expiry, so
            # the backend's client is used directly; the key is made the way the cache makes every key.
            full_key = cache.make_and_validate_key(key)
            client = cache._cache.get_client(full_key, write=True)
            pipe = client.pipeline(transaction=False)
            pipe.incr(full_key)
            # The window is in the key, so refreshing the expiry on every hit is harmless (and needs no
            # EXPIRE … NX, which Redis before 7.0 lacks): the key expires one window after its last hit.
            pipe.expire(full_key, self.duration + 1)
            count, _ = pipe.execute()
            return int(count)
        # Any other cache (the embedded default's file cache, tests' LocMemCache): add, then increment.
        if cache.add(key, 1, self.duration + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens the window again
            cache.set(key, 1, self.duration + 1)
            return 1

    def wait(self) -> float:
        return max(self.window_ends - self.now, 0.0)


class AnonRateThrottle(FixedWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FixedWindowMixin, throttling.UserRateThrottle):
    @classmethod
    def window_of(cls, user_id: int) -> tuple[str, int] | None:
        """The counter key ``allow_request`` increments for an authenticated ``user_id`` now, and its expiry; None
        when this throttle counts nothing or counts in a cache other than the default one (Redis)."""
        throttle = cls()
        if throttle.rate is None or throttle.cache is not default_cache:
            return None
        window = int(throttle.timer() // throttle.duration)
        ident = throttle.cache_format % {"scope": throttle.scope, "ident": user_id}
        return f"{ident}:{window}", throttle.duration + 1


class ScopedRateThrottle(FixedWindowMixin, throttling.ScopedRateThrottle):
    def allow_request(self, request, view) -> bool:
        # DRF's own steps (the scope is known only once the view calls), then the fixed window.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return FixedWindowMixin.allow_request(self, request, view)
