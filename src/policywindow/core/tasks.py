"""Housekeeping that the worker runs on a schedule."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from .ratelimit import purge_old_windows
from .scheduler import every


@every(dt.timedelta(hours=1))
@task()
def purge_rate_counters() -> int:
    """Drop rate-limit counters of windows long past (the database store; Redis expires its own)."""
    return purge_old_windows()
