"""Background work of the workflow, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from .services import sla


@every(dt.timedelta(minutes=5))
@task()
def sweep_deadlines() -> dict[str, int]:
    """Reminders, overdue marks and escalations of approval tasks (the one-week clock)."""

    return sla.sweep().as_dict()
