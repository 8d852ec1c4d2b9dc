"""Housekeeping that the worker runs on a schedule."""

from __future__ import annotations

import datetime as dt

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks import task

from .ratelimit import purge_old_windows
from .scheduler import every


@every(dt.timedelta(hours=1))
@task()
def purge_expired_sessions() -> int:
    """Drop expired sessions and the session records that point at nothing."""
    from policywindow.system.models import UserSession

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    live = Session.objects.values("session_key")
    orphans, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return deleted + orphans


@every(dt.timedelta(hours=1))
@task()
def purge_rate_counters() -> int:
    """Drop rate-limit counters of windows long past (the database store; Redis expires its own)."""
    return purge_old_windows()
