"""Background work of 法人空间, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from . import services


@every(dt.timedelta(minutes=5))
@task()
def issue_documents() -> int:
    """Receipts and notices earned since the last sweep are rendered and recorded."""
    return services.issue_missing()
