"""Housekeeping of the API's tables."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from policywindow.core.scheduler import every

from .models import IdempotencyRecord

# A client retries within minutes; a week covers any sane retry policy.
IDEMPOTENCY_KEEP = dt.timedelta(days=7)


@every(dt.timedelta(hours=6))
@task()
def purge_old_idempotency_records() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_KEEP
    ).delete()
    return deleted
