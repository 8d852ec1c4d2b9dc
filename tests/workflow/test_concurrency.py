"""Approvers deciding at the same instant on PostgreSQL, with real parallel connections."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection

from policywindow.core.errors import Conflict
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from tests.applications.test_intake_factories import make_case, make_version
from tests.waiting import join_all
from tests.workflow.factories import level, node, publish, users
from tests.workflow.test_runtime import accept

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]


def race(attempts: list[Callable[[], object]]) -> list[str]:
    """Run every attempt in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def run(attempt):
        try:
            barrier.wait()
            attempt()
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    join_all(threads)
    return sorted(outcomes)


def case_with(people, make_user, mode: str, count: int):
    approvers = [make_user(f"hq{i}", "reviewer", dept=people["tech"]) for i in range(count)]
    version = make_version(people["tech"])
    publish(
        version.rule,
        level(node("joint", "联合审核", users(*approvers), mode=mode)),
        level(node("leader", "分管领导审批", users(people["c"]))),
    )
    case = accept(people, make_case(version, people["enterprise"], people["applicant"]))
    return case, approvers


def decide(user, opinion: str = "同意") -> Callable[[], object]:
    task_id = WorkflowTask.objects.get(assignee=user, status="open").pk
    return lambda: runtime.decide(user, task_id, Decision("approve", opinion))


def test_all_members_of_a_joint_level_approving_at_once_advance_it_exactly_once(people, make_user):
    case, approvers = case_with(people, make_user, "all", 4)
    assert race([decide(user) for user in approvers]) == ["ok"] * 4
    tasks = WorkflowTask.objects.filter(application=case)
    assert tasks.filter(node_key="joint", status="approved").count() == 4
    assert tasks.filter(node_key="leader").count() == 1
    assert tasks.get(node_key="leader").status == "open"


def test_or_sign_candidates_racing_leave_exactly_one_approval(people, make_user):
    case, approvers = case_with(people, make_user, "any", 3)
    outcomes = race([decide(user) for user in approvers])
    assert outcomes == ["ok"] + ["该任务已取消，无需处理"] * 2
    tasks = WorkflowTask.objects.filter(application=case, node_key="joint")
    assert sorted(tasks.values_list("status", flat=True)) == ["approved", "cancelled", "cancelled"]
    assert WorkflowTask.objects.filter(application=case, node_key="leader").count() == 1


def test_the_same_task_decided_twice_at_once_gives_one_success_and_one_conflict(people, make_user):
    case, (approver,) = case_with(people, make_user, "any", 1)
    twice = decide(approver)
    assert race([twice, twice]) == ["ok", "该任务已处理，不能重复审批"]
    assert WorkflowTask.objects.filter(application=case, node_key="leader").count() == 1
    events = case.events.filter(action="review_approve")
    assert events.count() == 1
