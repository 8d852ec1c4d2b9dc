"""The runtime serves any registered subject: a test subject whose cases are departments (no
application, no money) starts, is decided, pauses for 补正, resumes and finishes through the
same runtime, locked by the generic path, and is listed with its own labels."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from policywindow.core.errors import Conflict
from policywindow.system.models import Department
from policywindow.workflow import selectors, subjects
from policywindow.workflow.models import (
    InstanceStatus,
    TaskStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowTask,
)
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from tests.workflow.factories import level, node, users

pytestmark = pytest.mark.django_db

TYPE = "test_department"


class DepartmentSubject(subjects.Subject):
    """Cases that are departments; what happens to them is written down, not done."""

    type = TYPE
    label = "部门测试事项"

    def __init__(self) -> None:
        self.happened: list[tuple[str, Any]] = []

    def lock(self, pk: int) -> Department:
        return Department.objects.select_for_update().get(pk=pk)

    def facts(self, row: Department) -> dict[str, Any]:
        return {"order": row.order}

    def fact_labels(self, row: Any = None) -> dict[str, str]:
        return {"order": "排序"}

    def label_of(self, row: Department) -> subjects.Label:
        return subjects.Label(f"D{row.pk}", row.name, "测试", f"/departments/{row.pk}/")

    def labels(self, ids) -> dict[int, subjects.Label]:
        return {row.pk: self.label_of(row) for row in Department.objects.filter(pk__in=ids)}

    def record(self, case, actor, action, note, data) -> None:
        self.happened.append((action, note))

    def finished(self, case, status, actor) -> None:
        self.happened.append(("finished", status))

    def supplement_requested(self, case, actor, reason, items) -> None:
        self.happened.append(("supplement", reason))

    def resumed(self, case, actor, due, **move) -> None:
        self.happened.append(("resumed", due.days))


@pytest.fixture
def subject():
    registered = DepartmentSubject()
    subjects.register(registered)
    yield registered
    subjects.unregister(TYPE)


@pytest.fixture
def drawn(people):
    """The test subject's own workflow (no rule): reviewer a, then leader c (或签 each)."""
    by = people["a"]
    return WorkflowDefinition.objects.create(
        subject_type=TYPE,
        rule=None,
        version=1,
        status=WorkflowDefinition.Status.PUBLISHED,
        spec={
            "levels": [
                level(node("first", "初审", users(people["a"]), on_reject="supplement")),
                level(node("second", "复核", users(people["c"]))),
            ]
        },
        created_by=by,
        published_by=by,
        published_at=timezone.now(),
    )


def open_task(user) -> WorkflowTask:
    return WorkflowTask.objects.get(assignee=user, status=TaskStatus.OPEN)


def start(people, row) -> WorkflowInstance:
    locked = DepartmentSubject().lock(row.pk)
    return runtime.start(people["a"], TYPE, locked)


def test_a_case_of_another_subject_runs_start_to_finish(people, subject, drawn):
    case = people["tech"]
    instance = start(people, case)

    assert (instance.subject_type, instance.subject_id, instance.application_id) == (
        TYPE,
        case.pk,
        None,
    )
    first = open_task(people["a"])
    assert (first.subject_type, first.subject_id, first.application_id) == (TYPE, case.pk, None)
    runtime.decide(people["a"], first.pk, Decision("approve", "同意"))
    runtime.decide(people["c"], open_task(people["c"]).pk, Decision("approve", "同意办结"))

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED and instance.finished_at is not None
    assert subject.happened == [
        ("review_start", ""),
        ("review_approve", "同意"),
        ("review_approve", "同意办结"),
        ("finished", "approved"),
    ]


def test_supplement_pauses_and_resubmission_resumes_at_the_node(people, subject, drawn):
    case = people["tech"]
    start(people, case)
    runtime.decide(people["a"], open_task(people["a"]).pk, Decision("reject", "请补充说明"))

    instance = WorkflowInstance.objects.get(subject_type=TYPE, subject_id=case.pk)
    assert instance.status == InstanceStatus.SUPPLEMENT and instance.remaining_days >= 1
    assert runtime.in_review_supplement(TYPE, case.pk)
    assert ("supplement", "请补充说明") in subject.happened

    runtime.resume(people["a"], TYPE, DepartmentSubject().lock(case.pk))
    assert open_task(people["a"]).node_key == "first"
    assert ("resumed", instance.remaining_days) in subject.happened


def test_a_subject_without_a_published_workflow_cannot_start(people, subject):
    with pytest.raises(Conflict, match="部门测试事项"):
        start(people, people["tech"])


def test_lists_label_tasks_of_other_subjects_by_their_subject(people, subject, drawn):
    start(people, people["tech"])

    [task] = selectors.labelled(selectors.todo_tasks(people["a"]))
    assert task.label == subjects.Label(
        f"D{people['tech'].pk}", "省科技厅", "测试", f"/departments/{people['tech'].pk}/"
    )
    [shown] = selectors.todo_list(people["a"]).page(0, 10)
    assert (shown.number, shown.rule_title, shown.enterprise_name) == (
        f"D{people['tech'].pk}",
        "省科技厅",
        "测试",
    )


def test_unknown_subject_types_are_named():
    with pytest.raises(LookupError, match="no_such_type"):
        subjects.get("no_such_type")
    assert subjects.APPLICATION in {subject.type for subject in subjects.registered()}
