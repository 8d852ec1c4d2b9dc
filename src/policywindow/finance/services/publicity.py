"""公示: publishing approved cases in a batch, and closing the period when it ends.

Publishing moves every chosen case from 审核通过 to 公示中 in one transaction (all or none)
and copies what the public may see (enterprise name, rule, approved amount) into the batch.
The worker's sweep moves a case whose period ended without an open objection to 公示通过;
it claims rows with ``SKIP LOCKED``, so overlapping sweeps never move a case twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit, calendar, provisional
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.system.models import User

from .. import selectors
from ..models import PublicityBatch, PublicityEntry

MAX_DAYS = 30
MAX_CASES = 500
SWEEP_BATCH = 200


def publish(actor: User, application_ids: Iterable[int], title: str, days: int) -> PublicityBatch:
    """Publish the chosen approved cases (in the actor's data scope) for ``days`` working days."""
    ids = sorted({int(pk) for pk in application_ids})
    title = (title or "").strip()
    _check(ids, title, days)
    with transaction.atomic():
        visible = selectors.scoped_cases(actor).filter(pk__in=ids).values_list("pk", flat=True)
        if len(set(visible)) != len(ids):
            raise Conflict("所选申报中有的已不存在或不在您的数据范围内，请刷新页面后重新选择")
        # All rows locked up front, in id order, before the first move records anything.
        cases = list(
            Application.objects.select_for_update(of=("self",))
            .select_related("enterprise", "rule_version")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        now = timezone.now()
        period = calendar.deadline(now, days)
        batch = PublicityBatch.objects.create(
            title=title, days=days, starts_at=now, ends_at=period.due_at, published_by=actor
        )
        provisional.remember("ends_at", [(batch, period)])
        for order, application in enumerate(cases, start=1):
            if application.status != S.APPROVED:
                raise Conflict(
                    f"申报 {application.number} 当前状态为“{application.get_status_display()}”，"
                    "只有审核通过的申报可以公示"
                )
            transitions.move(
                application,
                S.IN_PUBLICITY,
                actor=actor,
                action="publicize",
                note=period_note(batch),
                data={"batch": batch.pk},
            )
            PublicityEntry.objects.create(
                batch=batch,
                application=application,
                order=order,
                enterprise_name=application.enterprise.name,
                rule_title=application.rule_version.title,
                amount=application.approved_amount,
            )
        audit.record(
            "publicity.publish",
            actor=actor,
            target=batch,
            after={"cases": [a.number for a in cases], "days": days, "ends_at": batch.ends_at},
        )
    return batch


def period_note(batch: PublicityBatch) -> str:
    """The timeline's note of a published case: which notice, until when."""
    last = batch.last_day
    return f"{batch.title}，公示期至 {last.year}年{last.month}月{last.day}日"


def _check(ids: list[int], title: str, days: int) -> None:
    if not ids:
        raise ValidationFailed("请勾选要公示的申报", details={"cases": ["请勾选要公示的申报"]})
    if len(ids) > MAX_CASES:
        message = f"一个公示批次最多 {MAX_CASES} 件"
        raise ValidationFailed(message, details={"cases": [message]})
    if not title or len(title) > 100:
        message = "请填写公示名称（不超过 100 个字）"
        raise ValidationFailed(message, details={"title": [message]})
    if not 1 <= days <= MAX_DAYS:
        message = f"公示期为 1 至 {MAX_DAYS} 个工作日"
        raise ValidationFailed(message, details={"days": [message]})


def close_due(now: dt.datetime | None = None) -> int:
    """Move the cases whose publicity ended without an open objection on; returns how many."""
    now = now or timezone.now()
    moved = 0
    while batch := _close_batch(now):
        moved += batch
    return moved


def _close_batch(now: dt.datetime) -> int:
    with transaction.atomic():
        due = list(
            Application.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=S.IN_PUBLICITY,
                publicity_entries__withdrawn_at__isnull=True,
                publicity_entries__batch__ends_at__lte=now,
            )
            .order_by("pk")[:SWEEP_BATCH]
        )
        for application in due:
            transitions.move(
                application,
                S.PUBLICITY_PASSED,
                actor=None,
                action="publicity_passed",
                note="公示期满，未收到异议或异议不成立",
            )
        return len(due)
