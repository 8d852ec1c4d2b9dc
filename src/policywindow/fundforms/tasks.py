"""Background work of 经费审批表, run by ``policywindow worker``."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from policywindow.core.scheduler import every

from . import services
from .models import FormBatch


@task()
def produce_batch_files(batch_id: int) -> dict[str, int]:
    """The signed PDFs and the Excel of one batch, queued when the batch is issued."""
    batch = services.produce_files(FormBatch.objects.get(pk=batch_id))
    return {"total": batch.files_total, "done": batch.files_done, "failed": batch.files_failed}


@every(dt.timedelta(minutes=10))
@task()
def resume_batch_files() -> list[int]:
    """Queue again the batches whose file run died part-way (e.g. the worker was killed)."""
    stalled = services.claim_stalled_batches()
    for batch_id in stalled:
        produce_batch_files.enqueue(batch_id)
    return stalled
