"""``{% load approval_tags %}``: ``{{ task.due_at|due }}`` reads a deadline as people say it."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from policywindow.core import deadlines

register = template.Library()


@register.filter
def due(value: dt.datetime | None) -> str:
    """A working-day limit ends at midnight: show its last day ("2026-11-26"), not the next
    day's 00:00; an hour limit keeps its time."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    if local.time() == dt.time.min:
        return f"{deadlines.last_day(value):%Y-%m-%d}"
    return f"{local:%Y-%m-%d %H:%M}"
