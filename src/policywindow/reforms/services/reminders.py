"""改革任务督办 reminders: a task near its deadline, a task past it, and the bureau's digest.

Run by the worker every hour (``reforms.tasks``). As in the approval clock's sweep, open tasks
are claimed with ``SKIP LOCKED`` in small batches and stamped in the same transaction, and
every message carries a de-duplication key, so overlapping or interrupted sweeps never tell
anybody twice. Who is told: the staff of the responsible department and of the locality
who may report on the task; for new overdue tasks also, once per sweep, the bureau's
reviewers (one digest, not one message per task).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.core import calendar
from policywindow.core.deadlines import PROVISIONAL_WORDS, last_day
from policywindow.notifications.services import notify
from policywindow.system.models import User
from policywindow.system.params import get_param
from policywindow.system.selectors import users_with_permission

from ..models import OVERDUE, ReformTask, TaskStatus

BATCH = 200
REPORTER_PERMISSION = "reform:task:report"
REVIEWER_PERMISSION = "reform:report:review"


@dataclass
class ReminderReport:
    reminded: int = 0
    overdue: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Notice:
    kind: str
    stamp: str  # the ReformTask field that records it went out
    subject: str  # with {title}
    body: str  # with {day}, the deadline's last day


REMINDER = Notice(
    "reform_reminder",
    "reminded_at",
    "改革任务即将到期：{title}",
    "办理期限 {day}，请按时推进并报送进展。",
)
OVERDUE_NOTICE = Notice(
    "reform_overdue",
    "overdue_notified_at",
    "改革任务已超期：{title}",
    "办理期限 {day} 已过，尚未完成，请尽快报送进展或完成报告。",
)


def sweep(now: dt.datetime | None = None) -> ReminderReport:
    """Remind open tasks due within the reminder window; tell of the ones that became overdue."""
    now = now or timezone.now()
    report = ReminderReport()
    # 系统参数, five working days unless changed: reform tasks run for months.
    soon = calendar.working_day_deadline(now, int(get_param("general.reform_reminder_days")))
    while told := _notice_batch(REMINDER, now, due_at__gt=now, due_at__lte=soon):
        report.reminded += told
    while told := _notice_batch(OVERDUE_NOTICE, now, due_at__lte=now):
        report.overdue += told
    if report.overdue:
        _tell_reviewers(now, report.overdue)
    return report


def _notice_batch(notice: Notice, now: dt.datetime, **window: Any) -> int:
    """Claim a batch of open tasks in ``window`` not yet given ``notice``, tell, stamp."""
    with transaction.atomic():
        tasks = list(
            ReformTask.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("item", "department", "locality")
            .exclude(status=TaskStatus.ACCEPTED)
            .filter(**{f"{notice.stamp}__isnull": True}, **window)
            .order_by("due_at", "id")[:BATCH]
        )
        people = reporters({d for t in tasks for d in (t.department_id, t.locality_id)})
        until = calendar.loaded_until()
        for task in tasks:
            _tell_reporters(task, notice, people, until)
        ReformTask.objects.filter(pk__in=[t.pk for t in tasks]).update(**{notice.stamp: now})
        return len(tasks)


def reporters(department_ids: set[int]) -> dict[int, list[User]]:
    """Who may report, per department: one query for a whole batch."""
    found: dict[int, list[User]] = defaultdict(list)
    for user in users_with_permission(REPORTER_PERMISSION).filter(department_id__in=department_ids):
        found[user.department_id].append(user)
    return found


def _tell_reporters(
    task: ReformTask, notice: Notice, people: dict[int, list[User]], until: dt.date | None
) -> None:
    title = f"{task.item.number}. {task.item.title}"
    # A deadline past the loaded holiday table says it is provisional (暂定).
    provisional = PROVISIONAL_WORDS if calendar.is_provisional(task.due_at, until) else ""
    notify(
        people[task.department_id] + people[task.locality_id],
        kind=notice.kind,
        subject=notice.subject.format(title=title)[:200],
        body=f"负责部门：{task.department}；落实地区：{task.locality}。"
        + notice.body.format(day=f"{last_day(task.due_at):%Y-%m-%d}{provisional}"),
        link=reverse("reforms:task_detail", args=[task.pk]),
        dedupe_key=f"reform-task:{task.pk}:{notice.kind}",
    )


def _tell_reviewers(now: dt.datetime, count: int) -> None:
    notify(
        users_with_permission(REVIEWER_PERMISSION),
        kind="reform_overdue_digest",
        subject=f"新增 {count} 项改革任务超期未完成",
        body="已提醒负责部门和落实地区，请在改革任务清单中督办。",
        link=f"{reverse('reforms:task_list')}?status={OVERDUE}",
        dedupe_key=f"reform-overdue-digest:{now.isoformat()}",
    )
