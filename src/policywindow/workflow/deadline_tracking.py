"""Approval tasks' deadlines that loading a holiday year may move (core/provisional.py): the
assignee is told, and a task whose deadline moved later may be reminded and marked overdue
again by the sweep (services/sla.py) when its new deadline comes."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from policywindow.core import provisional
from policywindow.core.provisional import Moved
from policywindow.notifications.deadlines import tell_moved

from .models import TaskStatus, WorkflowTask
from .selectors import labelled


def register() -> None:
    provisional.track(
        "workflow.WorkflowTask",
        "due_at",
        running=lambda: Q(status=TaskStatus.OPEN),
        tell=_tasks_moved,
    )


def _tasks_moved(moved: list[Moved]) -> None:
    found = WorkflowTask.objects.select_related("application__rule_version", "assignee")
    tasks = {task.pk: task for task in labelled(found.filter(pk__in=[m.object_id for m in moved]))}
    now = timezone.now()
    later = [m.object_id for m in moved if m.after > m.before and m.after > now]
    WorkflowTask.objects.filter(pk__in=later).update(reminded_at=None, overdue_at=None)
    for change in moved:
        task = tasks[change.object_id]
        tell_moved(
            [task.assignee],
            what=f"审批待办 {task.label.number} {task.node_name} 的办理期限",
            moved=change,
            link=task.label.link,
            key=f"task:{task.pk}",
        )
