"""Signed-in sessions: recording, listing and ending them."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from policywindow.core.requestctx import client_ip

from .models import User, UserSession


def record_session(request, user: User) -> None:
    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip": client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "started_at": timezone.now(),
            "last_activity": timezone.now(),
        },
    )


def touch_session(request) -> None:
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).update(last_activity=timezone.now())


def forget_session(session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every session of ``user`` except ``keep``; returns how many ended."""
    keys = list(
        UserSession.objects.filter(user=user)
        .exclude(session_key=keep or "")
        .values_list("session_key", flat=True)
    )
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


@transaction.atomic
def end_session(session_key: str) -> bool:
    deleted, _ = Session.objects.filter(session_key=session_key).delete()
    UserSession.objects.filter(session_key=session_key).delete()
    return bool(deleted)
