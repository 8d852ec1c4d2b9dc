"""A real worker is killed (SIGKILL) in the middle of the one-week clock's sweep (issue 8).

Two thousand overdue tasks; the worker's sweep commits them in batches of 200 (each task
stamped overdue together with its messages). The test holds an uncommitted message with the
key the second batch's first message will have, so the worker waits there on the unique index:
the kill lands after exactly one batch however fast or busy the machine is. The
next worker's sweep finishes the rest: every task is marked overdue once, its approver is told
once and its department leader once — nothing lost, nothing twice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from policywindow.notifications.models import Notification
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services.sla import BATCH
from policywindow.workflow.tasks import sweep_deadlines
from tests.faults.workers import end_other_sessions, worker
from tests.waiting import wait_for
from tests.workflow.conftest import people  # noqa: F401  the workflow fixtures, used here too
from tests.workflow.test_sla import escalating_case

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two processes share the database: PostgreSQL"
    ),
]

TASKS = 2000


def _overdue_tasks(people) -> list[int]:  # noqa: F811
    """The case's open task and copies of it, all past their deadline."""
    escalating_case(people)
    task = WorkflowTask.objects.get(assignee=people["a"], status="open")
    past = timezone.now() - dt.timedelta(days=3)
    fields = {f.attname: getattr(task, f.attname) for f in task._meta.concrete_fields}
    del fields["id"]
    copies = [
        WorkflowTask(**{**fields, "key": f"{task.node_key}#copy#{n}"}) for n in range(1, TASKS)
    ]
    WorkflowTask.objects.bulk_create(copies)
    WorkflowTask.objects.filter(status="open").update(due_at=past)
    return list(WorkflowTask.objects.filter(status="open").values_list("pk", flat=True))


def _marked() -> int:
    return WorkflowTask.objects.filter(overdue_at__isnull=False).count()


def test_a_sweep_killed_half_way_is_finished_by_the_next_without_doubles(people, tmp_path):  # noqa: F811
    tasks = _overdue_tasks(people)
    assert len(tasks) == TASKS

    with transaction.atomic():
        second_batch = sorted(tasks)[BATCH]  # claimed in (due_at, id) order; one due_at
        Notification.objects.create(
            recipient=people["a"],
            kind="task_overdue",
            dedupe_key=f"task:{second_batch}:task_overdue",
        )
        first = worker(data_dir=tmp_path / "w1")
        try:
            wait_for(lambda: _marked() > 0, "the first committed batch", alive=first)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        end_other_sessions()
        transaction.set_rollback(True)  # the blocking message goes; the next worker sends it
    assert _marked() == BATCH, "killed in the middle of the sweep: after its first batch"

    sweep_deadlines.enqueue()
    second = worker("--batch", data_dir=tmp_path / "w2")
    wait_for(lambda: second.poll() is not None, "the second worker to finish the sweep")
    assert second.returncode == 0

    assert _marked() == TASKS
    assert WorkflowTask.objects.filter(escalated_at__isnull=False).count() == TASKS
    for kind, recipient in (("task_overdue", people["a"]), ("task_escalated", people["c"])):
        sent = Notification.objects.filter(kind=kind)
        assert sent.count() == TASKS, kind
        assert set(sent.values_list("recipient", flat=True)) == {recipient.pk}
        keys = sent.values("dedupe_key").annotate(n=Count("id")).filter(n__gt=1)
        assert not keys.exists(), f"{kind} sent twice for one task"
