"""审批人员 and 办理时效: the numbers, computed on hand-made data; node states for the diagram."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.calendar import SHANGHAI
from policywindow.system.models import Post
from policywindow.workflow import selectors
from policywindow.workflow.definition import Definition, Level, Node
from policywindow.workflow.engine import State, Task
from policywindow.workflow.models import WorkflowTask
from tests.workflow.test_approval_pages import people, two_level_case  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def cells(page: str, row_attr: str, value: str) -> dict[str, str]:
    row = re.search(rf'<tr {row_attr}="{value}">(.*?)</tr>', page, re.S).group(1)
    found = re.findall(r'data-col="(\w+)">(.*?)</td>', row, re.S)
    return {name: re.sub(r"<[^>]+>|\s", "", text) for name, text in found}


# --------------------------------------------------------------------------- approvers
def test_approver_numbers(people, login, make_user):  # noqa: F811
    chief = make_user("chief", "section_chief", dept=people["tech"], real_name="科长")
    post = Post.objects.create(code="kj01", name="项目审核岗")
    people["a"].posts.add(post)
    first, second, third = (two_level_case(people) for _ in range(3))
    now = timezone.now()
    tasks = {
        c.pk: WorkflowTask.objects.get(application=c, assignee=people["a"])
        for c in (first, second, third)
    }
    # first: decided in 10 hours; second: in 20 hours, 40 days ago (outside the window);
    # third: still open and overdue.
    WorkflowTask.objects.filter(pk=tasks[first.pk].pk).update(
        status="approved", opened_at=now - 12 * HOUR, decided_at=now - 2 * HOUR
    )
    WorkflowTask.objects.filter(pk=tasks[second.pk].pk).update(
        status="rejected",
        opened_at=now - dt.timedelta(days=40, hours=20),
        decided_at=now - dt.timedelta(days=40),
    )
    WorkflowTask.objects.filter(pk=tasks[third.pk].pk).update(due_at=now - HOUR)

    page = login(chief).get(reverse("workflow:approvers")).content.decode()
    assert cells(page, "data-user", "rev_a") == {
        "open": "1",
        "overdue": "1",
        "recent": "1",
        "avg": "10.0小时",
    }
    assert "项目审核岗" in page and "审核科员" in page
    assert 'data-user="rev_b"' not in page  # finance is outside the chief's scope
    assert cells(page, "data-user", "leader_c")["avg"] == "—"


# --------------------------------------------------------------------------- stats
def _decided_case(crew, *, accepted, due, decided, status=S.APPROVED) -> Application:
    case = two_level_case(crew)
    Application.objects.filter(pk=case.pk).update(
        status=status, accepted_at=accepted, due_at=due, decided_at=decided
    )
    return case


def test_timeliness_per_rule_and_per_department(people, login, make_user):  # noqa: F811
    leader = make_user("bureau", "bureau_leader", dept=people["tech"])
    on_time = _decided_case(
        people, accepted=at(2026, 11, 2, 9), due=at(2026, 11, 10), decided=at(2026, 11, 6, 9)
    )
    late = _decided_case(
        people,
        accepted=at(2026, 11, 2, 9),
        due=at(2026, 11, 10),
        decided=at(2026, 11, 12, 9),
        status=S.REJECTED,
    )
    _decided_case(  # decided before the period: not counted
        people, accepted=at(2026, 9, 1, 9), due=at(2026, 9, 8), decided=at(2026, 9, 7, 9)
    )
    # Task level: tech decides one task on time (4 h), one late (20 h); finance one on time (2 h).
    tech_tasks = WorkflowTask.objects.filter(assignee=people["a"], application__in=[on_time, late])
    for task, hours, due in zip(
        tech_tasks.order_by("id"), (4, 20), (at(2026, 11, 5), at(2026, 11, 3)), strict=True
    ):
        WorkflowTask.objects.filter(pk=task.pk).update(
            status="approved",
            opened_at=at(2026, 11, 2, 9),
            decided_at=at(2026, 11, 2, 9) + hours * HOUR,
            due_at=due,
        )
    WorkflowTask.objects.filter(assignee=people["b"], application=on_time).update(
        status="returned",
        opened_at=at(2026, 11, 2, 9),
        decided_at=at(2026, 11, 2, 11),
        due_at=at(2026, 11, 5),
    )

    page = (
        login(leader)
        .get(reverse("applications:review_stats"), {"start": "2026-11-01", "end": "2026-11-30"})
        .content.decode()
    )
    assert cells(page, "data-row", on_time.rule.code) == {
        "total": "1",
        "on_time": "1",
        "open_overdue": "0",
        "rate": "100.0%",
        "avg": "4.0天",
    }
    assert cells(page, "data-row", late.rule.code)["on_time"] == "0"
    assert re.search(r'data-testid="case-total">2<', page)
    assert re.search(r'data-testid="case-rate">50.0%<', page)
    assert cells(page, "data-row", "省科技厅") == {
        "total": "2",
        "on_time": "1",
        "open_overdue": "0",
        "rate": "50.0%",
        "avg": "12.0小时",
    }
    assert cells(page, "data-row", "省财政厅")["avg"] == "2.0小时"
    assert re.search(r'data-testid="task-rate">66.7%<', page)


def test_stats_respect_the_data_scope(people, login, make_user):  # noqa: F811
    chief = make_user("fin_chief", "section_chief", dept=people["finance"])
    case = _decided_case(
        people, accepted=at(2026, 11, 2, 9), due=at(2026, 11, 10), decided=at(2026, 11, 6, 9)
    )
    page = (
        login(chief)
        .get(reverse("applications:review_stats"), {"start": "2026-11-01", "end": "2026-11-30"})
        .content.decode()
    )
    assert f'data-row="{case.rule.code}"' not in page  # a 科技厅 case


# --------------------------------------------------------------------------- node states
def _task(node: str, slot: int, status: str, round_: int = 1, level: int = 0) -> Task:
    return Task(f"{node}#{round_}#{slot}", node, level, slot, slot, round_, status)


def _state(tasks, rounds) -> State:
    return State("running", 0, tuple(tasks), (1, 0), tuple(rounds.items()))


def test_node_states_follow_the_current_round():
    definition = Definition(
        (
            Level(
                (
                    Node("any", (1, 2)),
                    Node("all", (1, 2), mode="all"),
                    Node("no", (1,), applies=False),
                )
            ),
            Level((Node("next", (3,)),)),
        )
    )
    state = _state(
        [
            _task("any", 0, "approved"),
            _task("any", 1, "cancelled"),
            _task("all", 0, "approved"),
            _task("all", 1, "open"),
        ],
        {"any": 1, "all": 1, "no": 0, "next": 0},
    )
    assert selectors.node_states(definition, state) == {
        "any": "done",
        "all": "current",
        "next": "pending",
    }
    assert selectors.node_states(definition, state, overdue_nodes={"all"})["all"] == "overdue"
    # A new round of the level (after a return) forgets the earlier approvals.
    again = _state(
        [*state.tasks, _task("any", 0, "open", round_=2)], {"any": 2, "all": 1, "no": 0, "next": 0}
    )
    assert selectors.node_states(definition, again)["any"] == "current"
    rejected = _state([_task("all", 0, "rejected")], {"any": 1, "all": 1, "no": 0, "next": 0})
    assert selectors.node_states(definition, rejected)["all"] == "rejected"
