"""Background work of 改革任务督办, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from .services import reminders


@every(dt.timedelta(hours=1))
@task()
def sweep_reform_deadlines() -> dict[str, int]:
    """Deadline reminders and overdue notices of reform tasks."""
    return reminders.sweep().as_dict()
