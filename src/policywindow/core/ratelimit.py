"""Fixed-window counters shared by every server process, for whatever must not be flooded.

A key (what is limited and for whom, e.g. ``login:addr:203.0.113.9``) counts events in fixed
windows of ``window_seconds``. The count lives outside the process, so every gunicorn worker
and every host sees the same number: in Redis when ``REDIS_URL`` is configured (one Lua
script: INCR and EXPIRE together), else in the database (one ``INSERT … ON CONFLICT DO
UPDATE … RETURNING`` statement on PostgreSQL and SQLite). When Redis does not answer, the
database counts (a warning is logged, never an error page) and Redis is tried again after
``REDIS_RETRY_SECONDS``.

Count outside a transaction that may roll back (before ``transaction.atomic``): a rollback
would take the count back with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import RateCounter
from .requestctx import parse_address

log = logging.getLogger(__name__)

# Counters are kept this long after their window starts: the latest earlier window of a key
# (``Count.before``) is known within it, and the housekeeping task purges what is older.
KEEP_SECONDS = 24 * 3600
REDIS_RETRY_SECONDS = 30
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_PREFIX = "policywindow:rate:"
MAX_KEY_LENGTH = 200
# IPv6 users get a whole /64 each: counting single addresses would give one client 2**64 keys.
IPV6_PREFIX = 64

# KEYS[1] this window's counter, KEYS[2] the key's pointer to its latest window.
# ARGV[1] seconds to keep both, ARGV[2] the name of this window's counter.
_REDIS_HIT = """
local hits = redis.call('INCR', KEYS[1])
local before = 0
if hits == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  local last = redis.call('SET', KEYS[2], ARGV[2], 'GET', 'EX', ARGV[1])
  if last then before = tonumber(redis.call('GET', last) or '0') end
end
return {hits, before}
"""

# PostgreSQL and SQLite (3.35+) both take this; the row's lock makes concurrent counts distinct.
_UPSERT = (
    'INSERT INTO "core_ratecounter" ("key", "window_start", "hits") VALUES (%s, %s, 1) '
    'ON CONFLICT ("key", "window_start") DO UPDATE SET "hits" = "core_ratecounter"."hits" + 1 '
    'RETURNING "hits"'
)

_redis_down_until = 0.0  # per process, on time.monotonic()


@dataclass(frozen=True)
class Count:
    hits: int  # events under the key in the current window, this one included
    # On a window's first event (hits == 1): the hits of the key's latest earlier window
    # (0 when there is none within KEEP_SECONDS); else 0. Lets a caller sum up a window once.
    before: int = 0


def hit(key: str, window_seconds: int) -> Count:
    """Count one event under ``key`` in the current window, in the store all processes share."""
    window_start = int(timezone.now().timestamp()) // window_seconds * window_seconds
    key = _bounded(key)
    if settings.REDIS_URL and time.monotonic() >= _redis_down_until:
        try:
            return _redis_hit(settings.REDIS_URL, key, window_start)
        except redis.RedisError as exc:
            _redis_failed(exc)
    return _database_hit(key, window_start)


def over_limit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under ``key``; True once more than ``limit`` fall in the window."""
    return hit(key, window_seconds).hits > limit


def address_key(ip: str) -> str:
    """The part of a client address a limit counts: the address, or its /64 for IPv6."""
    address = parse_address(ip)
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def purge_old_windows() -> int:
    """Drop database counters past KEEP_SECONDS (Redis expires its own)."""
    oldest = int(timezone.now().timestamp()) - KEEP_SECONDS
    deleted, _ = RateCounter.objects.filter(window_start__lt=oldest).delete()
    return deleted


def _bounded(key: str) -> str:
    """Keys carry user input (a username, a path): long ones keep a prefix and a digest."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY_LENGTH - 65]}#{digest}"


@lru_cache(maxsize=4)
def _redis_script(url: str):
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    return client.register_script(_REDIS_HIT)


def _redis_hit(url: str, key: str, window_start: int) -> Count:
    counter = f"{REDIS_PREFIX}{key}:{window_start}"
    pointer = f"{REDIS_PREFIX}{key}:latest"
    hits, before = _redis_script(url)(keys=[counter, pointer], args=[KEEP_SECONDS, counter])
    return Count(int(hits), int(before))


def _redis_failed(exc: Exception) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    log.warning(
        "rate limiter: Redis unavailable (%s); counting in the database for %s s",
        exc,
        REDIS_RETRY_SECONDS,
    )


def _database_hit(key: str, window_start: int) -> Count:
    hits = _upsert(key, window_start)
    if hits != 1:
        return Count(hits)
    before = (
        RateCounter.objects.filter(key=key, window_start__lt=window_start)
        .order_by("-window_start")
        .values_list("hits", flat=True)
        .first()
    )
    return Count(hits, before or 0)


def _upsert(key: str, window_start: int) -> int:
    """One atomic statement: concurrent processes each get their own, distinct count."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window_start])
        return cursor.fetchone()[0]
