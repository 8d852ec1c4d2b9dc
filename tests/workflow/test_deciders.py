"""Approvers who cannot decide (issue 15): publishing a workflow names them and refuses; a running
case whose approver lost the permission (or was disabled) shows as a stuck node to the policy
office — on 部门待办 with its filter, and on the case page — and the on-time figures count what is
still open past its deadline against the rate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from policywindow.applications import selectors_review
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.calendar import SHANGHAI
from policywindow.core.errors import ValidationFailed
from policywindow.system.models import Menu, Role
from policywindow.workflow import selectors
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.selectors import Period
from policywindow.workflow.services import designer, runtime
from tests.workflow.factories import level, node, users
from tests.workflow.test_approval_pages import two_level_case
from tests.workflow.test_designer import bare_rule, dept_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(make_user):
    """The policy office: publishes workflows and watches every department's queue."""
    return make_user("zcdx", "policy_admin", "section_chief", real_name="政策兑现处")


def _draft(office, rule, *nodes) -> None:
    designer.save_draft(office, rule, {"levels": [level(*nodes, name="部门并联审核")]})


def test_publishing_refuses_a_node_whose_approver_cannot_decide_and_names_them(
    office, people, make_user
):
    payer = make_user("czt_pay", "finance_officer", dept=people["finance"], real_name="蒋红")
    rule = bare_rule(people["tech"])
    _draft(
        office,
        rule,
        node("lead", "牵头部门审核", users(people["a"])),
        node("finance", "财政厅审核", dept_role(people["finance"], "finance_officer")),
    )
    with pytest.raises(ValidationFailed) as refused:
        designer.publish(office, rule)
    [problem] = refused.value.details["problems"]
    assert problem.startswith("节点「财政厅审核」的审批人无法看到和办理审批任务")
    assert payer.real_name in problem and "“我的待办”“审批”" in problem
    # Once the finance reviewer's role names them, the same workflow publishes.
    payer.roles.add(Role.objects.get(code="reviewer"))
    _draft(
        office,
        rule,
        node("lead", "牵头部门审核", users(people["a"])),
        node("finance", "财政厅审核", dept_role(people["finance"], "reviewer")),
    )
    assert designer.publish(office, rule).status == "published"


def test_a_node_resolved_per_case_is_judged_by_its_role(office, people):
    rule = bare_rule(people["tech"])
    role = {"kind": "lead_dept_role", "role_code": "finance_officer"}
    _draft(office, rule, node("lead", "牵头部门审核", role))
    with pytest.raises(ValidationFailed) as refused:
        designer.publish(office, rule)
    assert refused.value.details["problems"] == [
        "节点「牵头部门审核」的审批人无法看到和办理审批任务：角色“财政人员”没有“我的待办”“审批”权限"
    ]


def test_the_designer_page_lists_who_cannot_decide(office, people, make_user, login):
    make_user("czt_pay", "finance_officer", dept=people["finance"], real_name="蒋红")
    rule = bare_rule(people["tech"])
    _draft(
        office, rule, node("finance", "财政厅审核", dept_role(people["finance"], "finance_officer"))
    )
    response = login(office).post(reverse("workflow:designer_publish", args=[rule.pk]))
    page = response.content.decode()
    assert 'data-testid="publish-problems"' in page and "蒋红 没有“我的待办”“审批”权限" in page


def _stuck_case(people):
    """A running case whose 财政厅 approver has since lost the permission to decide."""
    case = two_level_case(people)
    reviewer = Role.objects.get(code="reviewer")
    reviewer.menus.remove(Menu.objects.get(permission="approval:task:decide"))
    return case


def test_a_stuck_node_shows_on_the_queue_with_a_filter_and_on_the_case_page(office, people, login):
    case = two_level_case(people)
    people["b"].is_active = False  # 财政审核员 left after the case started
    people["b"].save(update_fields=["is_active"])
    client = login(office)
    queue = client.get(reverse("workflow:queue")).content.decode()
    finance_row = queue[queue.index('data-node="finance"') :].split("</tr>")[0]
    assert 'data-stuck="1"' in queue and "卡住" in finance_row and "财政审核员" in finance_row
    tech_row = queue[queue.index('data-node="tech"') :].split("</tr>")[0]
    assert "卡住" not in tech_row
    only = client.get(reverse("workflow:queue"), {"stuck": "1"}).content.decode()
    assert 'data-node="finance"' in only and 'data-node="tech"' not in only
    page = client.get(reverse("applications:review_case", args=[case.pk])).content.decode()
    stuck = page[page.index('data-testid="node-stuck"') :].split("</div>")[0]
    assert "财政审核员" in stuck and "节点卡住" in stuck


def test_a_lost_permission_makes_the_node_stuck_too(office, people):
    _stuck_case(people)
    stuck = selectors.queue_tasks(office, selectors.TaskFilter(stuck_only=True))
    # Every reviewer lost 审批: both first-level nodes wait on people who cannot decide.
    assert {task.node_key for task in stuck} == {"tech", "finance"}
    rows = selectors.queue_rows(stuck)
    assert all(row.stuck and row.unable == row.waiting for row in rows)


def test_a_countersigned_node_is_stuck_when_one_of_its_approvers_cannot_decide(office, people):
    both = level(node("both", "会签审核", users(people["a"], people["a2"]), mode="all"))
    two_level_case(people, first=both)
    assert not selectors.queue_tasks(office, selectors.TaskFilter(stuck_only=True)).exists()
    people["a2"].roles.clear()
    [head] = selectors.queue_tasks(office, selectors.TaskFilter(stuck_only=True))
    [row] = selectors.queue_rows([head])
    assert row.stuck and [task.assignee for task in row.unable] == [people["a2"]]
    # 或签 with one able approver left is not stuck.
    assert not selectors.is_stuck("any", [people["a"].pk, people["a2"].pk], {people["a"].pk})
    assert selectors.is_stuck("all", [people["a"].pk, people["a2"].pk], {people["a"].pk})


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_open_cases_and_tasks_past_their_deadline_count_against_the_on_time_rate(people, make_user):
    leader = make_user("bureau_t", "bureau_leader", dept=people["tech"])
    late_open = two_level_case(people)
    Application.objects.filter(pk=late_open.pk).update(
        accepted_at=_at(2026, 11, 2, 9), due_at=_at(2026, 11, 10), decided_at=None
    )
    on_time = two_level_case(people)
    Application.objects.filter(pk=on_time.pk).update(
        status=S.APPROVED,
        accepted_at=_at(2026, 11, 2, 9),
        due_at=_at(2026, 11, 10),
        decided_at=_at(2026, 11, 6, 9),
    )
    WorkflowTask.objects.filter(application=late_open).update(due_at=_at(2026, 11, 5))
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    _rows, cases = selectors_review.case_timeliness(leader, period, now=_at(2026, 11, 20, 10))
    assert (cases.total, cases.on_time, cases.open_overdue, cases.rate) == (2, 1, 1, 50.0)
    # Before its deadline the open case is not yet due: it does not count.
    _rows, early = selectors_review.case_timeliness(leader, period, now=_at(2026, 11, 9, 10))
    assert (early.total, early.rate) == (1, 100.0)
    _rows, tasks = selectors.task_timeliness(leader, period, now=_at(2026, 11, 20, 10))
    assert tasks.open_overdue == 2 and tasks.rate == 0.0  # tech and finance, both still open


def test_a_task_is_never_handed_to_someone_who_cannot_decide_it(people, make_user):
    case = two_level_case(people)
    task = WorkflowTask.objects.get(application=case, assignee=people["a"], status="open")
    clerk = make_user("kjt_window", "window_clerk", dept=people["tech"], real_name="科技厅窗口")
    assert clerk not in selectors.transfer_targets(people["a"], task)
    assert people["a2"] in selectors.transfer_targets(people["a"], task)
    with pytest.raises(ValidationFailed) as refused:
        runtime.transfer(people["a"], task.pk, clerk.pk, "请代为办理")
    assert "科技厅窗口 没有“我的待办”“审批”权限" in refused.value.details["to_user"][0]
