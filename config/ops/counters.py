"""Counters and histograms that every process adds to and /metrics reads: kept in the cache (Redis).

What happens in a Celery worker — a task failing, a report being built — cannot be counted in the web process
that Prometheus scrapes, and a worker may run on another machine. prometheus_client's multiprocess mode shares
files between the processes of one machine only. So these figures live in the shared cache: each event is one or
two Redis INCRs (atomic, whichever process or machine sends them), and a scrape reads them all in one MGET.

A histogram keeps one count per bucket (not cumulative: one INCR per observation) plus the sum in milliseconds;
/metrics adds the buckets up. The figures are counters from the Redis keys' creation on: a Redis flush starts
them again from zero, which Prometheus' ``rate()`` and ``increase()`` handle as a counter reset. On the embedded
default the cache is a folder of files, where an increment is not atomic: two processes counting at one instant
may lose one count (the figures stay right to within that).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence

from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "ops:metric:"


def key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


def incr(name: str, delta: int = 1) -> None:
    """Add ``delta`` to the counter ``name`` (created at 0); a cache that is down loses the count, loudly."""
    try:
        try:
            cache.incr(name, delta)
        except ValueError:  # not there yet (or expired): create it, unless another process just did
            if not cache.add(name, delta, timeout=None):
                cache.incr(name, delta)
    except Exception as exc:  # counting must never break the task or request being counted
        logger.warning("metrics: could not count %s (%s: %s)", name, type(exc).__name__, exc)


def observe(metric: str, label: str, seconds: float, buckets: Sequence[float]) -> None:
    """One observation of ``seconds`` for a histogram: its bucket's count and the sum."""
    index = bisect.bisect_left(buckets, seconds)  # the first bucket whose bound is >= seconds; len = +Inf
    incr(key(metric, label, "bucket", str(index)))
    incr(key(metric, label, "sum_ms"), max(0, round(seconds * 1000)))


def read_many(names: Iterable[str]) -> dict[str, int]:
    names = list(names)
    values = cache.get_many(names)
    return {name: int(values.get(name) or 0) for name in names}


def histogram_keys(metric: str, label: str, buckets: Sequence[float]) -> list[str]:
    """The keys of one histogram: a count per bucket (+Inf last), then the sum."""
    return [key(metric, label, "bucket", str(i)) for i in range(len(buckets) + 1)] + [
        key(metric, label, "sum_ms")
    ]


def histogram_from(
    values: dict[str, int], metric: str, label: str, buckets: Sequence[float]
) -> tuple[list[tuple[str, int]], float]:
    """(cumulative buckets as Prometheus wants them, +Inf last; the sum in seconds) from ``read_many``'s values."""
    *names, sum_key = histogram_keys(metric, label, buckets)
    cumulative, running = [], 0
    for bound, name in zip([*[f"{b:g}" for b in buckets], "+Inf"], names, strict=True):
        running += values.get(name, 0)
        cumulative.append((bound, running))
    return cumulative, values.get(sum_key, 0) / 1000
