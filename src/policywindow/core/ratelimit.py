"""A fixed-window counter per key in the cache, for public forms that must not be flooded."""

from __future__ import annotations

from django.core.cache import cache


def over_limit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under ``key``; True once more than ``limit`` fall in the window."""
    cache.add(key, 0, window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        count = 1
    return count > limit
