"""Reads of the inbox: a user only ever sees their own messages."""

from __future__ import annotations

from django.db.models import QuerySet

from policywindow.system.models import User

from .models import Notification


def inbox(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    messages = Notification.objects.filter(recipient=user)
    return messages.filter(read_at__isnull=True) if unread_only else messages


def unread_count(user: User) -> int:
    return inbox(user, unread_only=True).count()
