"""The clock of a case: when its time limit ends, how it stops for 补正 and runs again.

Intake starts it, the workflow runtime (``workflow.services.runtime``) pauses, resumes and
restarts it, a workflow node's task and a reform task get their limits from it; the deadline
marks (``core.deadlines``) read the ``due_at`` each writes. Working days come from the holiday
table (``core.calendar``); a limit reaching past the loaded table is provisional and every caller
hands it to ``core.provisional`` with the row it was written on (``remember``), so it is
recomputed when the table grows.
"""

from __future__ import annotations

import datetime as dt

from . import calendar
from .calendar import Deadline


def start(now: dt.datetime, days: int) -> Deadline:
    """A limit of ``days`` working days from ``now`` (acceptance, a reopened review, a node)."""
    return calendar.deadline(now, days)


def in_hours(now: dt.datetime, hours: int) -> Deadline:
    """A limit in plain hours (a node may count so); never provisional."""
    return Deadline(now, 0, now + dt.timedelta(hours=hours), False)


def pause(now: dt.datetime, due_at: dt.datetime | None) -> int:
    """The working days left when a case stops for 补正: kept until it resumes, at least one
    (a case sent back on its last day still gets a day when it comes back)."""
    left = calendar.working_days_between(now, due_at) if due_at else 0
    return max(left, 1)


def resume(now: dt.datetime, remaining_days: int) -> Deadline:
    """The limit of a case that comes back from 补正 with ``remaining_days`` left."""
    due = calendar.deadline(now, remaining_days)
    return due if due.days else Deadline(now, 0, now, False)
