"""The one-week clock's sweep: remind before a task is due, mark it overdue, escalate.

Run by the worker every few minutes (``workflow.tasks``). Rows are claimed with
``SKIP LOCKED`` in small batches and stamped in the same transaction, and every message has a
de-duplication key, so overlapping sweeps or a sweep killed half-way never notify twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from policywindow.core import calendar
from policywindow.notifications.services import notify
from policywindow.system.models import Department

from .. import spec as specs
from ..models import TaskStatus, WorkflowTask
from ..selectors import labelled

BATCH = 200


@dataclass
class SweepReport:
    reminded: int = 0
    overdue: int = 0
    escalated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def sweep(now: dt.datetime | None = None) -> SweepReport:
    """Remind tasks with at most one working day left; mark and escalate overdue ones."""
    now = now or timezone.now()
    report = SweepReport()
    soon = calendar.working_day_deadline(now, 1)
    while _remind_batch(now, soon, report):
        pass
    while _overdue_batch(now, report):
        pass
    return report


def _claim(**filters) -> list[WorkflowTask]:
    """A batch of open tasks, each with its case's ``label`` (``selectors.labelled``)."""
    return labelled(
        WorkflowTask.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("application__rule_version", "instance__workflow", "assignee")
        .filter(status=TaskStatus.OPEN, **filters)
        .order_by("due_at", "id")[:BATCH]
    )


def _remind_batch(now: dt.datetime, soon: dt.datetime, report: SweepReport) -> int:
    with transaction.atomic():
        tasks = _claim(reminded_at__isnull=True, due_at__gt=now, due_at__lte=soon)
        for task in tasks:
            due = timezone.localtime(task.due_at)
            _tell(
                task,
                [task.assignee],
                "task_reminder",
                f"即将到期：{_title(task)}",
                f"办理期限 {due:%Y-%m-%d %H:%M}，请尽快办理。",
            )
        WorkflowTask.objects.filter(pk__in=[t.pk for t in tasks]).update(reminded_at=now)
        report.reminded += len(tasks)
        return len(tasks)


def _overdue_batch(now: dt.datetime, report: SweepReport) -> int:
    with transaction.atomic():
        tasks = _claim(overdue_at__isnull=True, due_at__lte=now)
        leaders = _leaders({t.department_id for t in tasks if t.department_id})
        escalated = []
        for task in tasks:
            _tell(
                task,
                [task.assignee],
                "task_overdue",
                f"已超期：{_title(task)}",
                "该审批任务已超过办理期限，请立即办理。",
                sms=True,
            )
            node = specs.parse(task.instance.workflow.spec).node(task.node_key)
            leader = leaders.get(task.department_id)
            if node.on_timeout == "escalate" and leader and leader.pk != task.assignee_id:
                name = task.assignee.real_name or task.assignee.username
                _tell(
                    task,
                    [leader],
                    "task_escalated",
                    f"超期上报：{_title(task)}",
                    f"{name} 的审批任务已超期，请督办。",
                    sms=True,
                )
                escalated.append(task.pk)
        WorkflowTask.objects.filter(pk__in=[t.pk for t in tasks]).update(overdue_at=now)
        WorkflowTask.objects.filter(pk__in=escalated).update(escalated_at=now)
        report.overdue += len(tasks)
        report.escalated += len(escalated)
        return len(tasks)


def _leaders(department_ids: set[int]) -> dict[int, object]:
    departments = Department.objects.filter(pk__in=department_ids, leader__isnull=False)
    return {d.pk: d.leader for d in departments.select_related("leader")}


def _title(task: WorkflowTask) -> str:
    return f"{task.label.number} {task.node_name}"


def _tell(task: WorkflowTask, users: list, kind: str, subject: str, body: str, sms: bool = False):
    notify(
        users,
        kind=kind,
        subject=subject,
        body=f"“{task.label.title}”：{body}",
        link=task.label.link,
        dedupe_key=f"task:{task.pk}:{kind}",
        sms=sms,
    )
