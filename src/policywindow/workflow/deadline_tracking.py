"""Approval tasks' deadlines that loading a holiday year may move (core/provisional.py): the
assignee is told, and a task whose deadline moved later may be reminded and marked overdue
again by the sweep (services/sla.py) when its new deadline comes."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from policywindow.core import provisional
from policywindow.core.provisional import Moved
from policywindow.notifications.deadlines import tell_moved

from .models import WorkflowTask


def register() -> None:
    provisional.track(
        "workflow.WorkflowTask", "due_at", running=lambda: Q(status="open"), tell=_tasks_moved
    )


def _tasks_moved(moved: list[Moved]) -> None:
    tasks = WorkflowTask.objects.select_related("application", "assignee").in_bulk(
        [m.object_id for m in moved]
    )
    now = timezone.now()
    later = [m.object_id for m in moved if m.after > m.before and m.after > now]
    WorkflowTask.objects.filter(pk__in=later).update(reminded_at=None, overdue_at=None)
    for change in moved:
        task = tasks[change.object_id]
        tell_moved(
            [task.assignee],
            what=f"审批待办 {task.application.number} {task.node_name} 的办理期限",
            moved=change,
            link=reverse("workflow:case", args=[task.application_id]),
            key=f"task:{task.pk}",
        )
