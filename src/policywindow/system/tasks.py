"""Housekeeping of the system app that the worker runs on a schedule."""

from __future__ import annotations

import datetime as dt

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks import task

from policywindow.core.scheduler import every

from .models import UserSession


@every(dt.timedelta(hours=1))
@task()
def purge_expired_sessions() -> int:
    """Drop expired sessions and the session records that point at nothing."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    live = Session.objects.values("session_key")
    orphans, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return deleted + orphans
