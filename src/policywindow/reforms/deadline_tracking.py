"""Reform tasks' deadlines that loading a holiday year may move (core/provisional.py): who may
report on the task (its department and locality) is told, and a task whose deadline moved later
is reminded and told of being overdue again when the new deadline comes (services/reminders)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from policywindow.core import provisional
from policywindow.core.provisional import Moved
from policywindow.notifications.deadlines import tell_moved

from .models import ReformTask, TaskStatus
from .services.reminders import reporters


def register() -> None:
    provisional.track(
        "reforms.ReformTask",
        "due_at",
        running=lambda: ~Q(status=TaskStatus.ACCEPTED),
        tell=_tasks_moved,
    )


def _tasks_moved(moved: list[Moved]) -> None:
    tasks = ReformTask.objects.select_related("item").in_bulk([m.object_id for m in moved])
    now = timezone.now()
    later = [m.object_id for m in moved if m.after > m.before and m.after > now]
    ReformTask.objects.filter(pk__in=later).update(reminded_at=None, overdue_notified_at=None)
    people = reporters({d for t in tasks.values() for d in (t.department_id, t.locality_id)})
    for change in moved:
        task = tasks[change.object_id]
        tell_moved(
            people[task.department_id] + people[task.locality_id],
            what=f"改革任务“{task.item.number}. {task.item.title}”的办理期限",
            moved=change,
            link=reverse("reforms:task_detail", args=[task.pk]),
            key=f"reform-task:{task.pk}",
        )
