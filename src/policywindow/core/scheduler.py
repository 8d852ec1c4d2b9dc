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
    """Enqueue every registered job whose interval has passed; returns their names."""
    now = now or timezone.now()
    enqueued = []
    for job in REGISTRY.values():
        with transaction.atomic():
            row, _ = PeriodicJob.objects.select_for_update().get_or_create(name=job.name)
            if row.last_enqueued_at and now - row.last_enqueued_at < job.interval:
                continue
            job.task.enqueue()
            row.last_enqueued_at = now
            row.save(update_fields=["last_enqueued_at"])
            enqueued.append(job.name)
    return enqueued
