"""The worker folds the board's rollup changes into the rollups every minute."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from . import rollups


@every(dt.timedelta(minutes=1))
@task()
def compact_rollups() -> int:
    """Fold the changes appended by the triggers; returns how many were folded."""
    return rollups.compact()
