"""The one-week clock's sweep: reminders, overdue marks, escalation — each exactly once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from policywindow.notifications.models import Notification
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime, sla
from tests.applications.test_intake_factories import make_case, make_version
from tests.workflow.factories import level, node, publish, users
from tests.workflow.test_runtime import accept

pytestmark = pytest.mark.django_db


def escalating_case(people):
    version = make_version(people["tech"])
    publish(
        version.rule,
        level(node("tech", "科技厅审核", users(people["a"]), on_timeout="escalate")),
        level(node("finance", "财政厅审核", users(people["b"]))),
    )
    people["tech"].leader = people["c"]
    people["tech"].save(update_fields=["leader"])
    return accept(people, make_case(version, people["enterprise"], people["applicant"]))


def kinds_for(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_reminder_the_day_before_overdue_after_and_escalation_to_the_leader(people, clock):
    clock(2026, 11, 26, 10, 0)  # Thursday; the 2-working-day task is due at the end of Monday
    escalating_case(people)
    assert sla.sweep().as_dict() == {"reminded": 0, "overdue": 0, "escalated": 0}

    clock(2026, 11, 27, 10, 0)  # Friday: one working day (Monday) left
    assert sla.sweep().reminded == 1
    assert kinds_for(people["a"]) == ["task_assigned", "task_reminder"]

    clock(2026, 12, 1, 9, 0)  # Tuesday: overdue
    report = sla.sweep()
    assert (report.overdue, report.escalated) == (1, 1)
    task = WorkflowTask.objects.get(assignee=people["a"])
    assert task.overdue_at is not None and task.escalated_at is not None
    assert kinds_for(people["a"]) == ["task_assigned", "task_overdue", "task_reminder"]
    assert kinds_for(people["c"]) == ["task_escalated"]

    # A second sweep finds nothing new and sends nothing twice.
    assert sla.sweep().as_dict() == {"reminded": 0, "overdue": 0, "escalated": 0}
    assert kinds_for(people["applicant"]) == ["case_accepted"]  # the enterprise's, at 受理
    assert Notification.objects.count() == 5


def test_a_remind_only_node_is_not_escalated(people, clock):
    clock(2026, 11, 26, 10, 0)
    case = escalating_case(people)
    clock(2026, 11, 26, 11, 0)
    runtime.decide(
        people["a"],
        WorkflowTask.objects.get(application=case, assignee=people["a"]).pk,
        runtime.Decision("approve", "同意"),
    )
    people["finance"].leader = people["c"]  # a leader exists, but this node only reminds
    people["finance"].save(update_fields=["leader"])
    clock(2026, 12, 3, 9, 0)
    report = sla.sweep()
    assert (report.overdue, report.escalated) == (1, 0)
    assert kinds_for(people["c"]) == []


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after each task
def test_the_worker_runs_the_sweep(people, clock):
    clock(2026, 11, 26, 10, 0)
    escalating_case(people)
    clock(2026, 12, 2, 9, 0)
    call_command("worker", batch=True)
    result = DBTaskResult.objects.get(task_path="policywindow.workflow.tasks.sweep_deadlines")
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"reminded": 0, "overdue": 1, "escalated": 1}
    assert WorkflowTask.objects.get(assignee=people["a"]).overdue_at is not None
