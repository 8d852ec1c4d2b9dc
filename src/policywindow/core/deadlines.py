"""How running work stands against its time limit: red overdue, yellow with at most one working
day left (DESIGN.md §2), plain otherwise — for cases and for approval tasks alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from django.utils import timezone

from . import calendar


@dataclass(frozen=True)
class DeadlineMark:
    state: str  # "overdue" | "due_soon" | "on_time"
    label: str


def last_day(due_at: dt.datetime | None) -> dt.date | None:
    """The last working day of a limit: ``due_at`` is the midnight that ends it."""
    if due_at is None:
        return None
    return timezone.localdate(due_at - dt.timedelta(seconds=1))


def marks(
    dues: Mapping[Hashable, dt.datetime | None], now: dt.datetime | None = None
) -> dict[Hashable, DeadlineMark]:
    """A mark per key from one calendar query for the whole page.

    Work whose dates the holiday table does not cover gets no mark rather than a guess.
    """
    today = timezone.localdate(now or timezone.now())
    days = {key: day for key, due in dues.items() if (day := last_day(due)) is not None}
    if not days:
        return {}
    first, last = min([today, *days.values()]), max([today, *days.values()])
    working, known = calendar.working_dates(first, last)
    if len(known) != (last - first).days + 1:
        return {}
    found = {}
    for key, due in days.items():
        if due < today:
            late = sum(1 for d in working if due < d <= today)
            found[key] = DeadlineMark("overdue", f"已超期 {late} 个工作日" if late else "已超期")
        else:
            left = sum(1 for d in working if today < d <= due)
            label = "今日到期" if left == 0 else f"剩余 {left} 个工作日"
            found[key] = DeadlineMark("due_soon" if left <= 1 else "on_time", label)
    return found
