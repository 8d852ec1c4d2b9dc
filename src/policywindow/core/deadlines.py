"""How running work stands against its time limit: red overdue, yellow with at most one working
day left (DESIGN.md §2), plain otherwise — for cases and for approval tasks alike — and whether
the limit is provisional (暂定: it lies past the loaded holiday table, core/calendar.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from . import calendar


@dataclass(frozen=True)
class DeadlineMark:
    state: str  # "overdue" | "due_soon" | "on_time"
    label: str
    provisional: bool = False


def last_day(due_at: dt.datetime | None) -> dt.date | None:
    """The last working day of a limit: ``due_at`` is the midnight that ends it."""
    if due_at is None:
        return None
    return timezone.localdate(due_at - dt.timedelta(seconds=1))


def loaded_until(request: Any = None) -> dt.date | None:
    """``calendar.loaded_until()``, read once per request when one is given (a page or an API
    list judges many deadlines)."""
    if request is None:
        return calendar.loaded_until()
    if not hasattr(request, "_pw_loaded_until"):
        request._pw_loaded_until = calendar.loaded_until()
    return request._pw_loaded_until


def is_provisional(due: dt.date | dt.datetime | None, request: Any = None) -> bool:
    """Whether the deadline (``due_at`` or its last day) is provisional (暂定)."""
    return due is not None and calendar.is_provisional(due, loaded_until(request))


PROVISIONAL_WORDS = "（暂定：该年度节假日安排尚未公布，按周末推算，公布后重新计算并另行告知）"


def provisional_words(due: dt.date | dt.datetime | None) -> str:
    """What a message or a printed notice adds after a provisional deadline."""
    return PROVISIONAL_WORDS if is_provisional(due) else ""


def marks(
    dues: Mapping[Hashable, dt.datetime | None], now: dt.datetime | None = None
) -> dict[Hashable, DeadlineMark]:
    """A mark per key from one calendar query for the whole page.

    Dates the holiday table lacks count by the weekend, and such marks are provisional: the
    table's unbroken run is read from the same rows (it is ``calendar.loaded_until`` for any
    table without a gap before the page's first date).
    """
    today = timezone.localdate(now or timezone.now())
    days = {key: day for key, due in dues.items() if (day := last_day(due)) is not None}
    if not days:
        return {}
    first, last = min([today, *days.values()]), max([today, *days.values()])
    working, known = calendar.working_dates(first, last)
    until = calendar.unbroken_end(first, known)
    found = {}
    for key, due in days.items():
        provisional = calendar.is_provisional(due, until)
        if due < today:
            late = sum(1 for d in working if due < d <= today)
            label = f"已超期 {late} 个工作日" if late else "已超期"
            found[key] = DeadlineMark("overdue", label, provisional)
        else:
            left = sum(1 for d in working if today < d <= due)
            label = "今日到期" if left == 0 else f"剩余 {left} 个工作日"
            found[key] = DeadlineMark("due_soon" if left <= 1 else "on_time", label, provisional)
    return found
