"""The workflow persisted: accept starts it, decisions move tasks and the case, 补正 pauses it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from policywindow.applications import transitions
from policywindow.applications.models import ApplicationEvent, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import filing, intake
from policywindow.core.audit import verify_chain
from policywindow.core.calendar import SHANGHAI
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.notifications.models import Notification
from policywindow.workflow.models import InstanceStatus, WorkflowInstance, WorkflowTask
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from policywindow.workflow.subjects import APPLICATION
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_version,
)
from tests.pdfs import minimal
from tests.workflow.factories import level, node, publish, users

pytestmark = pytest.mark.django_db

PDF = minimal()


def two_level_case(people, *, amount: str = "320000.00", condition: str = ""):
    """A case of a rule whose workflow is: 并审 (tech, finance) → leader (optionally conditional)."""
    version = make_version(people["tech"])
    publish(
        version.rule,
        level(
            node("tech", "科技厅审核", users(people["a"])),
            node("finance", "财政厅审核", users(people["b"])),
        ),
        level(node("leader", "分管领导审批", users(people["c"]), condition=condition)),
    )
    case = make_case(version, people["enterprise"], people["applicant"])
    case.requested_amount = Decimal(amount)
    case.save(update_fields=["requested_amount"])
    return case


def accept(people, case):
    return intake.accept(people["clerk"], case, all_complete(case), expected_revision=case.revision)


def open_task(user) -> WorkflowTask:
    return WorkflowTask.objects.get(assignee=user, status="open")


def approve(user, opinion: str = "同意", **fields) -> WorkflowTask:
    return runtime.decide(user, open_task(user).pk, Decision("approve", opinion, **fields))


def test_accept_starts_the_first_level_with_a_task_per_department(people, clock):
    clock(2026, 11, 26, 10, 0)
    case = accept(people, two_level_case(people))
    instance = WorkflowInstance.objects.get(application=case)
    assert instance.status == InstanceStatus.RUNNING and instance.current_level == 0
    tasks = WorkflowTask.objects.filter(application=case).order_by("node_key")
    assert [(t.node_name, t.assignee.username, t.status) for t in tasks] == [
        ("财政厅审核", "rev_b", "open"),
        ("科技厅审核", "rev_a", "open"),
    ]
    # 2 working days after Thursday 2026-11-26: the limit ends at the end of Monday 11-30.
    assert {t.due_at for t in tasks} == {dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)}
    assert tasks[0].department == people["finance"]
    assert ApplicationEvent.objects.filter(application=case, action="review_start").exists()
    inbox = Notification.objects.filter(kind="task_assigned").values_list("recipient__username")
    assert sorted(inbox) == [("rev_a",), ("rev_b",)]


def test_accept_is_refused_without_a_published_workflow(people):
    case = two_level_case(people)
    case.rule.workflows.all().delete()
    with pytest.raises(Conflict, match="尚未发布审批工作流"):
        accept(people, case)
    case.refresh_from_db()
    assert case.status == S.SUBMITTED and not WorkflowInstance.objects.exists()


def test_accept_is_refused_when_a_node_has_nobody_to_act(people, make_department):
    version = make_version(people["tech"])
    empty = make_department("无负责人部门")
    publish(
        version.rule,
        level(node("lead", "负责人审批", {"kind": "dept_leader", "department_id": empty.pk})),
    )
    case = make_case(version, make_enterprise(), people["applicant"])
    with pytest.raises(Conflict, match="节点「负责人审批」没有可办理的审批人"):
        accept(people, case)
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_parallel_then_leader_approves_the_case(people, clock):
    clock(2026, 11, 26, 10, 0)
    case = accept(people, two_level_case(people))
    approve(people["a"])
    assert not WorkflowTask.objects.filter(node_key="leader").exists()  # finance still open
    approve(people["b"])
    leader_task = open_task(people["c"])
    assert leader_task.level == 1
    approve(people["c"], "同意拨付")
    case.refresh_from_db()
    assert case.status == S.APPROVED
    assert case.approved_amount == Decimal("320000.00")
    assert WorkflowInstance.objects.get(application=case).status == InstanceStatus.APPROVED
    decided = Notification.objects.get(kind="case_decided")
    assert decided.recipient == people["applicant"] and "审核通过" in decided.subject
    actions = list(
        ApplicationEvent.objects.filter(application=case).values_list("action", flat=True)
    )
    assert actions[-4:] == ["review_approve", "review_approve", "review_approve", "review_approved"]
    assert verify_chain().ok


def test_rejection_in_a_parallel_level_cancels_the_other_department(people):
    case = accept(people, two_level_case(people))
    runtime.decide(people["a"], open_task(people["a"]).pk, Decision("reject", "研发费用不实"))
    case.refresh_from_db()
    assert case.status == S.REJECTED
    cancelled = WorkflowTask.objects.get(assignee=people["b"])
    assert cancelled.status == "cancelled"
    assert cancelled.reason == "「tech」已驳回：研发费用不实"


def test_condition_adds_the_leader_level_only_for_large_amounts(people):
    small = accept(people, two_level_case(people, condition="requested_amount > 1000000"))
    approve(people["a"])
    approve(people["b"])
    small.refresh_from_db()
    assert small.status == S.APPROVED  # the leader level did not apply
    notes = WorkflowInstance.objects.get(application=small).notes
    assert "不满足适用条件" in notes["leader"]

    large = accept(
        people, two_level_case(people, amount="2000000.00", condition="requested_amount > 1000000")
    )
    approve(people["a"])
    approve(people["b"])
    large.refresh_from_db()
    assert large.status == S.IN_REVIEW
    assert open_task(people["c"]).application == large


def test_an_approver_may_lower_the_amount_with_a_reason_never_raise_it(people):
    case = accept(people, two_level_case(people))
    with pytest.raises(ValidationFailed) as raised:
        approve(people["a"], approved_amount="400000")
    assert "不能高于当前金额 320,000.00 元" in raised.value.details["approved_amount"][0]
    with pytest.raises(ValidationFailed) as raised:
        approve(people["a"], approved_amount="300000")
    assert raised.value.details == {"amount_reason": ["核减金额时必须填写核减理由"]}
    approve(people["a"], approved_amount="300000", amount_reason="部分费用不符合归集口径")
    with pytest.raises(ValidationFailed):  # the next approver's ceiling is the lowered amount
        approve(people["b"], approved_amount="310000", amount_reason="x")
    approve(people["b"])
    approve(people["c"], approved_amount="280000", amount_reason="以最终核定为准")
    case.refresh_from_db()
    assert case.approved_amount == Decimal("280000.00")  # the last approver's amount counts


def test_a_task_decided_twice_is_a_conflict_and_others_cannot_decide_it(people):
    accept(people, two_level_case(people))
    task = open_task(people["a"])
    with pytest.raises(PermissionDenied):
        runtime.decide(people["b"], task.pk, Decision("approve", "同意"))
    runtime.decide(people["a"], task.pk, Decision("approve", "同意"))
    with pytest.raises(Conflict, match="该任务已处理"):
        runtime.decide(people["a"], task.pk, Decision("approve", "同意"))
    with pytest.raises(ValidationFailed) as raised:
        runtime.decide(people["b"], open_task(people["b"]).pk, Decision("reject", "  "))
    assert raised.value.details == {"opinion": ["请填写审批意见"]}


def test_review_supplement_pauses_the_clock_and_resumes_at_the_node_that_asked(people, clock):
    clock(2026, 11, 20, 9, 0)  # Friday: the case is due at the end of Friday 11-27
    case = accept(people, two_level_case(people))
    assert case.due_at == dt.datetime(2026, 11, 28, tzinfo=SHANGHAI)
    approve(people["b"])
    clock(2026, 11, 24, 16, 0)  # Tuesday: 3 working days left (Wed, Thu, Fri)
    items = ({"key": "audit_report", "comment": "请上传加盖公章的审计报告"},)
    runtime.decide(
        people["a"],
        open_task(people["a"]).pk,
        Decision("return_supplement", "审计报告缺少公章", supplement_items=items),
    )
    case.refresh_from_db()
    assert case.status == S.SUPPLEMENT_REQUIRED
    notice = SupplementNotice.objects.get(application=case, resolved_at__isnull=True)
    assert [item["key"] for item in notice.items] == ["audit_report"]
    assert WorkflowInstance.objects.get(application=case).remaining_days == 3

    clock(2026, 11, 30, 10, 0)  # Monday, after a weekend of 补正
    upload = SimpleUploadedFile("审计报告.pdf", PDF, content_type="application/pdf")
    filing.resubmit_supplement(people["applicant"], case, {}, {"audit_report": [upload]})
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    # 3 working days from Monday: Tue, Wed, Thu -> the case is due at the end of Thursday 12-3.
    assert case.due_at == dt.datetime(2026, 12, 4, tzinfo=SHANGHAI)
    reopened = open_task(people["a"])
    assert reopened.node_key == "tech" and reopened.round == 2
    assert not WorkflowTask.objects.filter(assignee=people["b"], status="open").exists()
    approve(people["a"])
    assert open_task(people["c"]).level == 1


def test_national_day_and_its_working_saturday_set_task_deadlines(people, clock):
    clock(2026, 9, 30, 15, 0)  # the last working day before the 2026 National Day holiday
    accept(people, two_level_case(people))
    task = open_task(people["a"])
    # Working days after 09-30: 10-08 (Thu), 10-09 (Fri): due at the end of 10-09.
    assert task.due_at == dt.datetime(2026, 10, 10, tzinfo=SHANGHAI)
    clock(2026, 10, 9, 11, 0)
    approve(people["a"])
    approve(people["b"])
    # From Friday 10-09: Saturday 10-10 is a 调休 working day, then Monday 10-12.
    assert open_task(people["c"]).due_at == dt.datetime(2026, 10, 13, tzinfo=SHANGHAI)


def test_transfer_stays_within_the_department(people):
    accept(people, two_level_case(people))
    task = open_task(people["a"])
    with pytest.raises(ValidationFailed, match="只能转办给本部门"):
        runtime.transfer(people["a"], task.pk, people["b"].pk, "出差")
    runtime.transfer(people["a"], task.pk, people["a2"].pk, "出差，请代为审核")
    task.refresh_from_db()
    assert task.status == "transferred"
    assert open_task(people["a2"]).node_key == "tech"


def test_withdraw_until_the_next_level_acts(people):
    accept(people, two_level_case(people))
    first = approve(people["a"])
    runtime.withdraw(people["a"], first.pk)
    assert open_task(people["a"]).node_key == "tech"
    approve(people["a"])
    mine = WorkflowTask.objects.get(assignee=people["a"], status="approved")
    approve(people["b"])
    approve(people["c"])
    with pytest.raises(Conflict):
        runtime.withdraw(people["a"], mine.pk)


def test_decision_attachments_are_checked_and_kept(people):
    accept(people, two_level_case(people))
    fake = SimpleUploadedFile("意见.pdf", b"MZ not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationFailed) as raised:
        runtime.decide(
            people["a"], open_task(people["a"]).pk, Decision("approve", "同意"), files=[fake]
        )
    assert "attachments" in raised.value.details
    assert open_task(people["a"])  # nothing was decided
    good = SimpleUploadedFile("核查意见.pdf", PDF, content_type="application/pdf")
    task = runtime.decide(
        people["a"], open_task(people["a"]).pk, Decision("approve", "同意"), files=[good]
    )
    assert [a.original_name for a in task.attachments.all()] == ["核查意见.pdf"]


def test_batch_approval_takes_only_any_tasks(people):
    accept(people, two_level_case(people))
    task = open_task(people["a"])
    results = runtime.approve_many(people["a"], [task.pk, 999999], "同意")
    assert results[task.pk] == ""
    assert results[999999] == "只有或签任务可以批量审批"


def test_an_upheld_objection_reopens_the_last_level(people):
    case = accept(people, two_level_case(people))
    for user in ("a", "b", "c"):
        approve(people[user])
    with transaction.atomic():
        locked = transitions.lock(case.pk)
        transitions.move(locked, S.IN_PUBLICITY, actor=people["clerk"], action="publicize")
        transitions.move(locked, S.OBJECTION, actor=None, action="objection")
        runtime.reopen(
            people["clerk"], APPLICATION, locked, "异议成立：研发费用存在重复申报", action="reopen"
        )
    case.refresh_from_db()
    assert (case.status, case.approved_amount) == (S.IN_REVIEW, None)
    again = open_task(people["c"])
    assert (again.node_key, again.round) == ("leader", 2)
    assert not WorkflowTask.objects.filter(assignee=people["a"], status="open").exists()
    approve(people["c"], "复核后同意")
    case.refresh_from_db()
    assert case.status == S.APPROVED


def test_only_an_approved_case_can_be_reopened(people):
    case = accept(people, two_level_case(people))
    with transaction.atomic(), pytest.raises(Conflict, match="不能变为"):
        runtime.reopen(
            people["clerk"], APPLICATION, transitions.lock(case.pk), "x", action="reopen"
        )
