"""Reform-task reminders: a week before the deadline, once overdue, a digest for the bureau —
each once, only to the departments concerned, never for finished tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from policywindow.core.calendar import SHANGHAI
from policywindow.core.models import CalendarDay
from policywindow.core.scheduler import REGISTRY
from policywindow.notifications.models import Notification
from policywindow.reforms.models import ReformTask, TaskStatus
from policywindow.reforms.services import reminders
from policywindow.system.models import SystemParameter

pytestmark = pytest.mark.django_db

# 全省 items are due when 30 March 2026 ends (20 working days after 2 March, see conftest).
BEFORE_WINDOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)  # 6 working days left
IN_WINDOW = dt.datetime(2026, 3, 24, 10, 0, tzinfo=SHANGHAI)  # 4 working days left
AFTER_DEADLINE = dt.datetime(2026, 3, 31, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def people(make_user, org):
    return {
        "customs": make_user("dlhg", "reviewer", dept=org["DLHG"]),  # responsible department
        "dalian": make_user("dl_city", "reviewer", dept=org["DL-YSJ"]),  # the locality
        "shenyang": make_user("sy_city", "reviewer", dept=org["SY-YSJ"]),  # neither
    }


@pytest.fixture
def customs_task(programme, org) -> ReformTask:
    """Item 15 (大连海关 沈阳海关, 全省) in 大连."""
    return ReformTask.objects.get(item__number=15, department=org["DLHG"], locality=org["DL-YSJ"])


def messages(user, kind: str, task: ReformTask | None = None) -> list[Notification]:
    found = Notification.objects.filter(recipient=user, kind=kind)
    if task is not None:
        found = found.filter(link=f"/reforms/tasks/{task.pk}/")
    return list(found)


def test_a_reminder_goes_out_once_within_five_working_days(customs_task, people):
    assert reminders.sweep(BEFORE_WINDOW).reminded == 0
    assert not messages(people["customs"], "reform_reminder")

    report = reminders.sweep(IN_WINDOW)
    (told,) = messages(people["customs"], "reform_reminder", customs_task)
    assert told.subject == f"改革任务即将到期：15. {customs_task.item.title}"[:200]
    assert "办理期限 2026-03-30" in told.body and "负责部门：大连海关" in told.body
    assert messages(people["dalian"], "reform_reminder", customs_task)
    assert not messages(people["shenyang"], "reform_reminder", customs_task)
    open_in_window = ReformTask.objects.exclude(status=TaskStatus.ACCEPTED).filter(
        due_at__gt=IN_WINDOW, due_at__lte=dt.datetime(2026, 3, 31, tzinfo=SHANGHAI)
    )
    assert report.reminded == open_in_window.count() > 0

    again = reminders.sweep(IN_WINDOW + dt.timedelta(hours=1))
    assert again.reminded == 0
    assert len(messages(people["customs"], "reform_reminder", customs_task)) == 1


def test_a_deadline_past_the_holiday_table_is_told_as_provisional(customs_task, people):
    assert "暂定" not in _reminded(people["customs"], customs_task).body
    Notification.objects.all().delete()
    ReformTask.objects.update(reminded_at=None)
    CalendarDay.objects.filter(date__gte=dt.date(2026, 3, 25)).delete()  # table ends before it
    body = _reminded(people["customs"], customs_task).body
    assert "办理期限 2026-03-30（暂定：该年度节假日安排尚未公布" in body


def _reminded(person, task: ReformTask) -> Notification:
    reminders.sweep(IN_WINDOW)
    (told,) = messages(person, "reform_reminder", task)
    return told


def test_an_overdue_task_is_told_once_and_the_bureau_gets_one_digest(
    customs_task, people, supervisor
):
    finished = ReformTask.objects.get(
        item__number=15, department=customs_task.department, locality__code="SY-YSJ"
    )
    ReformTask.objects.filter(pk=finished.pk).update(status=TaskStatus.ACCEPTED)

    report = reminders.sweep(AFTER_DEADLINE)
    (told,) = messages(people["customs"], "reform_overdue", customs_task)
    assert told.subject.startswith("改革任务已超期：15.")
    assert not messages(people["shenyang"], "reform_overdue", finished)
    assert not Notification.objects.filter(link=f"/reforms/tasks/{finished.pk}/").exists()
    overdue = ReformTask.objects.exclude(status=TaskStatus.ACCEPTED).filter(
        due_at__lte=AFTER_DEADLINE
    )
    assert report.overdue == overdue.count() > 0
    (digest,) = messages(supervisor, "reform_overdue_digest")
    assert digest.subject == f"新增 {report.overdue} 项改革任务超期未完成"
    assert digest.link == "/reforms/tasks/?status=overdue"

    later = reminders.sweep(AFTER_DEADLINE + dt.timedelta(days=1))
    assert later.overdue == 0
    assert len(messages(people["customs"], "reform_overdue", customs_task)) == 1
    assert len(messages(supervisor, "reform_overdue_digest")) == 1  # nothing new, no digest


def test_beyond_the_holiday_table_reminders_wait_but_overdue_notices_go_out(customs_task, people):
    """Five working days after 28 December 2026 are not in the table: no guessed reminder,
    no crash; the overdue notices need no calendar."""
    report = reminders.sweep(dt.datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI))
    assert report.reminded == 0
    assert report.overdue == ReformTask.objects.exclude(status=TaskStatus.ACCEPTED).count()
    assert messages(people["customs"], "reform_overdue", customs_task)


def test_the_worker_runs_the_sweep_every_hour():
    job = REGISTRY["policywindow.reforms.tasks.sweep_reform_deadlines"]
    assert job.interval == dt.timedelta(hours=1)


def test_the_reminder_window_is_a_system_parameter(customs_task, people):
    """With six working days instead of five, 20 March (six left) is inside the window."""
    key = "general.reform_reminder_days"
    assert SystemParameter.objects.filter(key=key).update(value="6") == 1
    assert reminders.sweep(BEFORE_WINDOW).reminded > 0
    assert messages(people["customs"], "reform_reminder", customs_task)
