"""Background work of 归档, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from . import services
from .models import ArchiveBatch


@task()
def run_archive_batch(batch_id: int) -> dict[str, int]:
    """Archive the cases of one batch, queued when the batch is started."""
    batch = services.run_batch(ArchiveBatch.objects.select_related("created_by").get(pk=batch_id))
    return {"total": batch.total, "done": batch.done, "failed": batch.failed}


@every(dt.timedelta(minutes=10))
@task()
def resume_archive_batches() -> list[int]:
    """Queue again the batches whose run died part-way (e.g. the worker was killed)."""
    stalled = services.claim_stalled_batches()
    for batch_id in stalled:
        run_archive_batch.enqueue(batch_id)
    return stalled
