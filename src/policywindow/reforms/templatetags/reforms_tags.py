"""Badges and dates shared by the 改革任务督办 pages."""

from __future__ import annotations

import datetime as dt

from django import template

from policywindow.core import deadlines

from ..models import ReportStatus
from ..selectors import status_label

register = template.Library()


@register.inclusion_tag("reforms/_status.html")
def task_status(status: str) -> dict[str, str]:
    return {"status": status, "label": status_label(status)}


@register.inclusion_tag("reforms/_status.html")
def report_status(status: str) -> dict[str, str]:
    return {"status": status, "label": ReportStatus(status).label}


@register.filter
def last_day(due_at: dt.datetime | None) -> dt.date | None:
    """The last working day of a deadline (``due_at`` is the midnight that ends it)."""
    return deadlines.last_day(due_at)


@register.filter
def task_status_label(status: str) -> str:
    return status_label(status)
