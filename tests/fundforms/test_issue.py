"""Issuing forms: who may, for which cases, numbered gap-free, with the content frozen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit, crypto
from policywindow.core.audit import verify_chain
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.fundforms import services, snapshot
from policywindow.fundforms.models import FormBatch, FormSequence, FundForm
from policywindow.system.models import User
from policywindow.workflow.models import WorkflowTask

from .conftest import decide

pytestmark = pytest.mark.django_db


def test_a_batch_numbers_its_forms_and_freezes_their_content(people, make_approved):
    first, second = make_approved("甲测试科技有限公司"), make_approved("乙测试科技有限公司")
    batch = services.issue_batch(people["admin"], [second.pk, first.pk], label=" 第一批 ")
    year = dt.date.today().year
    assert batch.number == f"辽营商兑汇〔{year}〕001号" and batch.label == "第一批"
    forms = list(batch.forms.order_by("sequence"))
    assert [f.number for f in forms] == [f"辽营商兑〔{year}〕0001号", f"辽营商兑〔{year}〕0002号"]
    assert [f.application for f in forms] == [first, second]  # in case order
    content = forms[0].content
    assert content["number"] == forms[0].number
    assert content["enterprise"] == {
        "name": "甲测试科技有限公司",
        "credit_code": first.enterprise.credit_code,
        "legal_representative": "曲道奎",
        "bank_name": "中国工商银行沈阳浑南支行",
        "bank_account": "6222020200112233445",
    }
    assert content["requested_amount"] == "320000.00"
    assert content["approved_amount"] == "300000.00"
    assert forms[0].approved_amount == Decimal("300000.00")
    assert content["demo"] is True and content["issued_by"] == "孙政策"
    assert content["rule"]["code"] == first.rule.code
    # At rest the whole snapshot is one envelope: no bank account in the database.
    stored = FundForm.objects.values_list("content", flat=True).get(pk=forms[0].pk)
    assert crypto.is_envelope(stored.text) and "6222020200112233445" not in stored.text
    # The files are left to the background task: none is made while issuing.
    assert not any(f.sha256 or f.pdf for f in forms)
    assert (batch.files_total, batch.files_done) == (3, 0) and not batch.sha256


def test_the_opinions_are_the_decisions_of_each_node_in_order(issued):
    opinions = issued.content["opinions"]
    assert [(row["node"], row["department"]) for row in opinions] == [
        ("科技厅审核", "省科学技术厅"),
        ("财政厅审核", "省财政厅"),
        ("分管领导审批", "省科学技术厅"),
    ]
    tech = opinions[0]["decisions"]
    assert [(d["reviewer"], d["result_label"], d["opinion"]) for d in tech] == [
        ("李明远", "通过", "经审核，研发费用专项审计报告真实有效，同意。")
    ]
    assert tech[0]["decided_at"]  # with reviewer and date
    assert issued.content["reductions"] == [
        {
            "node": "科技厅审核",
            "reviewer": "李明远",
            "amount": "300000.00",
            "reason": "部分设备购置费不属于研发费用归集范围，予以核减",
        }
    ]


def test_no_reduction_is_shown_when_the_amount_was_not_lowered(people, make_approved):
    case = make_approved(lowered_to=None)
    form = services.issue_batch(people["admin"], [case.pk]).forms.get()
    assert form.content["reductions"] == []
    assert form.content["approved_amount"] == form.content["requested_amount"] == "320000.00"


def test_only_the_final_round_of_a_returned_node_counts(people, make_approved, monkeypatch):
    """The leader sends the case back once: the first-round opinions are superseded."""
    original = decide

    def leader_returns_first(user, action="approve", opinion="同意", **fields):
        if (
            user == people["c"]
            and not WorkflowTask.objects.filter(assignee=user).exclude(status="open").exists()
        ):
            original(user, "return_previous", "请补充说明研发项目立项情况")
            original(people["a"], opinion="已补充核实立项文件，同意。")
            original(people["b"], opinion="复核无误，同意。")
        return original(user, action, opinion, **fields)

    monkeypatch.setattr("tests.fundforms.conftest.decide", leader_returns_first)
    case = make_approved(lowered_to=None)
    form = services.issue_batch(people["admin"], [case.pk]).forms.get()
    texts = [d["opinion"] for row in form.content["opinions"] for d in row["decisions"]]
    assert texts == ["已补充核实立项文件，同意。", "复核无误，同意。", "同意拨付。"]


def _task(pk: int, node: str, round_: int, status: str, **fields) -> WorkflowTask:
    return WorkflowTask(
        pk=pk,
        node_key=node,
        node_name=f"{node}审核",
        level=fields.pop("level", 0),
        round=round_,
        status=status,
        assignee=User(username=f"u{pk}", real_name=f"审核人{pk}"),
        decided_at=fields.pop("decided_at", dt.datetime(2026, 11, 26, 10, pk, tzinfo=dt.UTC)),
        opinion=f"意见{pk}",
        **fields,
    )


def test_cancelled_withdrawn_and_transferred_tasks_are_not_opinions():
    tasks = [
        _task(1, "tech", 1, "transferred"),
        _task(2, "tech", 1, "approved"),
        _task(3, "tech", 1, "withdrawn"),
        _task(4, "fin", 1, "cancelled"),
        _task(5, "fin", 1, "approved"),
        _task(6, "lead", 1, "returned", level=1),
        _task(7, "lead", 2, "approved", level=1),
        _task(8, "lead", 2, "open", level=1, decided_at=None),
    ]
    rows = snapshot.opinions(tasks)
    assert [(row["node"], [d["opinion"] for d in row["decisions"]]) for row in rows] == [
        ("tech审核", ["意见2"]),
        ("fin审核", ["意见5"]),
        ("lead审核", ["意见7"]),
    ]


def test_the_timeline_and_the_audit_log_record_the_issue(issued):
    event = ApplicationEvent.objects.get(application=issued.application, action="fund_form")
    assert event.note == f"审批表编号 {issued.number}" and event.actor_name == "孙政策"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"fundform.issue", "formbatch.issue"} <= actions
    assert audit.action_label("fundform.issue") == "出具经费审批表"
    assert verify_chain().ok


def test_only_cases_past_publicity_with_an_amount_can_have_a_form(people, make_approved):
    case = make_approved()
    for status in (S.APPROVED, S.IN_PUBLICITY, S.OBJECTION, S.REJECTED):
        Application.objects.filter(pk=case.pk).update(status=status)
        with pytest.raises(Conflict, match="公示通过后方可出具"):
            services.issue_batch(people["admin"], [case.pk])
    for status in (S.IN_FINANCE, S.DISBURSED, S.ARCHIVED):
        assert status in services.selectors.ELIGIBLE_STATUSES
    assert not FundForm.objects.exists() and not FormBatch.objects.exists()


def test_a_case_gets_one_form_only(people, issued):
    with pytest.raises(Conflict, match=f"已出具 {issued.number}"):
        services.issue_batch(people["admin"], [issued.application_id])
    assert FundForm.objects.count() == 1


def test_input_problems_are_refused_in_chinese(people, approved):
    with pytest.raises(ValidationFailed, match="请先勾选"):
        services.issue_batch(people["admin"], [])
    with pytest.raises(ValidationFailed, match="最多 100 件"):
        services.issue_batch(people["admin"], list(range(1, 102)))
    with pytest.raises(ValidationFailed, match="批次名称不能超过 60 个字"):
        services.issue_batch(people["admin"], [approved.pk], label="批" * 61)
    with pytest.raises(NotFound, match="不存在或不在您的数据范围内"):
        services.issue_batch(people["admin"], [approved.pk, 999999])


def test_only_a_holder_of_the_create_permission_may_issue(people, approved):
    for user in (people["finance_officer"], people["a"]):
        with pytest.raises(PermissionDenied):
            services.issue_batch(user, [approved.pk])


def test_a_case_outside_the_data_scope_cannot_be_issued(
    people, approved, narrowed_scope, make_user, make_department
):
    narrowed_scope("policy_admin", "dept")
    elsewhere = make_user("other_admin", "policy_admin", dept=make_department("省商务厅"))
    with pytest.raises(NotFound):
        services.issue_batch(elsewhere, [approved.pk])


def test_a_failure_while_issuing_leaves_no_gap(people, make_approved, monkeypatch):
    first, second = make_approved("甲测试有限公司"), make_approved("乙测试有限公司")
    real_record = audit.record

    def failing(action, **kwargs):
        if action == "formbatch.issue":
            raise RuntimeError("disk full")
        return real_record(action, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        services.issue_batch(people["admin"], [first.pk, second.pk])
    assert not FundForm.objects.exists()
    assert not FormSequence.objects.filter(last__gt=0).exists()
    monkeypatch.setattr(audit, "record", real_record)
    batch = services.issue_batch(people["admin"], [second.pk])
    assert batch.forms.get().sequence == 1 and batch.sequence == 1


def test_later_changes_do_not_change_an_issued_form(issued):
    enterprise = issued.application.enterprise
    enterprise.name = "改名后的企业有限公司"
    enterprise.bank_account = "6222000000000000000"
    enterprise.save()
    before = issued.sha256
    issued.refresh_from_db()
    assert issued.content["enterprise"]["name"] == "沈阳新松测试机器人自动化股份有限公司"
    assert services.render_form(issued) == services.form_file(issued)
    assert issued.sha256 == before
