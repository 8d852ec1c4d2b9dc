"""The worker drains the outbox every minute."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from .delivery import deliver_due


@every(dt.timedelta(minutes=1))
@task()
def deliver_outbox() -> dict[str, int]:
    """Send the due email/SMS messages; returns how many were sent, retried and failed."""
    return dataclasses.asdict(deliver_due())
