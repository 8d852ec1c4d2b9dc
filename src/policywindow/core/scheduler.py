"""Periodic jobs on top of the Django Tasks queue.

Django Tasks has no scheduler. Every worker calls ``enqueue_due_jobs`` between
batches; the job's row is locked while it is checked, so however many workers
run, a job is enqueued once per interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import PeriodicJob


@dataclass(frozen=True)
class Periodic:
    task: object  # a django_tasks Task
    interval: dt.timedelta

    @property
    def name(self) -> str:
        return self.task.module_path


REGISTRY: dict[str, Periodic] = {}


def every(interval: dt.timedelta):
    """Register a task (decorated with ``@task``) to run every ``interval``."""

    def register(task):
        job = Periodic(task, interval)
        REGISTRY[job.name] = job
        return task

    return register


def enqueue_due_jobs(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every registered job whose interval has passed; returns their names.

    One unlocked read finds the due jobs; only those are locked and checked again, so a round
    with nothing due costs one query."""
    now = now or timezone.now()
    last = _last_enqueued()
    due = [job for job in REGISTRY.values() if _due(job, last.get(job.name), now)]
    return [job.name for job in due if _enqueue_if_due(job, now)]


def next_due_at(now: dt.datetime | None = None) -> dt.datetime:
    """When the next registered job falls due (``now`` when one already is): one query."""
    now = now or timezone.now()
    last = _last_enqueued()
    times = [
        last[job.name] + job.interval if last.get(job.name) else now for job in REGISTRY.values()
    ]
    return max(now, min(times, default=now))


def _last_enqueued() -> dict[str, dt.datetime | None]:
    return dict(PeriodicJob.objects.values_list("name", "last_enqueued_at"))


def _due(job: Periodic, last: dt.datetime | None, now: dt.datetime) -> bool:
    return last is None or now - last >= job.interval


def _enqueue_if_due(job: Periodic, now: dt.datetime) -> bool:
    """Enqueue ``job`` unless another worker did since it was read (its row is locked)."""
    with transaction.atomic():
        row, _ = PeriodicJob.objects.select_for_update().get_or_create(name=job.name)
        if not _due(job, row.last_enqueued_at, now):
            return False
        job.task.enqueue()
        row.last_enqueued_at = now
        row.save(update_fields=["last_enqueued_at"])
        return True
