"""Background work of 财政报送, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from .services import publicity


@every(dt.timedelta(minutes=10))
@task()
def close_publicity() -> int:
    """Cases whose publicity period ended without an open objection pass publicity."""
    return publicity.close_due()
