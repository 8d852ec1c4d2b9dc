"""报送财政: the policy office submits a fund-form batch to finance, finance signs for it (签收)
or returns it with a reason (退回).

Submitting moves every case of the batch from 公示通过 to 待拨付 in one transaction (all or
none); returning moves them back, so the batch can be submitted again once the problem is
fixed. Lock order: the batch row, the submission row, then the cases in id order (as
``transitions.move`` wants them), then the audit chain.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, NotFound, ValidationFailed
from policywindow.fundforms.models import FormBatch
from policywindow.fundforms.selectors import visible_batches
from policywindow.notifications.services import notify
from policywindow.system.models import User
from policywindow.system.selectors import users_with_permission

from .. import exporting
from ..models import FinanceSubmission

SUBMIT = "finance:submission:submit"
RECEIVE = "finance:submission:receive"
EXPORT = "finance:submission:export"
MAX_REASON = 500
St = FinanceSubmission.Status


def submit(actor: User, batch_id: int) -> FinanceSubmission:
    """Submit a batch (new, or returned before) to finance; its cases become 待拨付."""
    require_permission(actor, SUBMIT)
    try:
        with transaction.atomic():
            submission = _submit_locked(actor, batch_id)
    except IntegrityError as exc:  # a concurrent first submission of the same batch won
        raise Conflict("该批次刚刚已报送财政，请刷新页面") from exc
    return submission


def _submit_locked(actor: User, batch_id: int) -> FinanceSubmission:
    if not visible_batches(actor).filter(pk=batch_id).exists():
        raise NotFound("审批表批次不存在或不在您的数据范围内")
    batch = FormBatch.objects.select_for_update().get(pk=batch_id)
    submission = FinanceSubmission.objects.select_for_update().filter(batch=batch).first()
    now = timezone.now()
    if submission is None:
        submission = FinanceSubmission(batch=batch, rounds=1)
    elif submission.status != St.RETURNED:
        raise Conflict(f"该批次已报送财政（{submission.get_status_display()}），不能重复报送")
    else:
        submission.rounds += 1
    submission.status, submission.submitted_at, submission.submitted_by = St.SUBMITTED, now, actor
    submission.received_at = submission.received_by = None
    submission.save()
    cases = _locked_cases(batch)
    _refuse_unless(cases, S.PUBLICITY_PASSED, "公示通过的办件才能报送财政")
    note = f"汇总表 {batch.number} 报送财政（第 {submission.rounds} 次报送）"
    for case in cases:
        transitions.move(case, S.IN_FINANCE, actor=actor, action="finance_submit", note=note)
    audit.record(
        "finance.submit",
        actor=actor,
        target=submission,
        after={"batch": batch.number, "cases": len(cases), "rounds": submission.rounds},
    )
    notify(
        users_with_permission(RECEIVE),
        kind="finance_submitted",
        subject=f"待签收：汇总表 {batch.number}（{len(cases)} 件）",
        body=f"{_name(actor)}报送了经费审批汇总表 {batch.number}，请核对后签收。",
        link=reverse("finance:submission_detail", args=[batch.pk]),
        dedupe_key=f"finance-submission:{submission.pk}:{submission.rounds}:submitted",
    )
    return submission


def receive(actor: User, submission_id: int) -> FinanceSubmission:
    """Finance signs for a submitted batch: its cases can now be paid."""
    require_permission(actor, RECEIVE)
    with transaction.atomic():
        submission = _locked_submitted(submission_id)
        now = timezone.now()
        submission.status, submission.received_at, submission.received_by = St.RECEIVED, now, actor
        submission.save(update_fields=["status", "received_at", "received_by"])
        note = f"财政已签收汇总表 {submission.batch.number}"
        for case in _locked_cases(submission.batch):
            transitions.record_event(case, actor=actor, action="finance_receive", note=note)
        audit.record(
            "finance.receive",
            actor=actor,
            target=submission,
            after={"batch": submission.batch.number, "status": submission.status},
        )
        _tell_submitter(
            submission, "finance_received", f"财政已签收：汇总表 {submission.batch.number}", note
        )
    return submission


def send_back(actor: User, submission_id: int, reason: str) -> FinanceSubmission:
    """Finance returns a submitted batch with the reason; its cases go back to 公示通过."""
    require_permission(actor, RECEIVE)
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= MAX_REASON:
        message = f"请填写退回原因（2 至 {MAX_REASON} 个字）"
        raise ValidationFailed(message, details={"reason": [message]})
    with transaction.atomic():
        submission = _locked_submitted(submission_id)
        submission.status, submission.returned_at = St.RETURNED, timezone.now()
        submission.returned_by, submission.return_reason = actor, reason
        submission.save(update_fields=["status", "returned_at", "returned_by", "return_reason"])
        note = f"财政退回汇总表 {submission.batch.number}：{reason}"
        for case in _locked_cases(submission.batch):
            transitions.move(
                case, S.PUBLICITY_PASSED, actor=actor, action="finance_return", note=note
            )
        audit.record(
            "finance.return",
            actor=actor,
            target=submission,
            after={"batch": submission.batch.number, "reason": reason},
        )
        _tell_submitter(
            submission, "finance_returned", f"财政退回：汇总表 {submission.batch.number}", note
        )
    return submission


# --------------------------------------------------------------------------- helpers
def _locked_submitted(submission_id: int) -> FinanceSubmission:
    submission = (
        FinanceSubmission.objects.select_for_update(of=("self",))
        .select_related("batch", "submitted_by")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None:
        raise NotFound("该财政报送不存在")
    if submission.status != St.SUBMITTED:
        raise Conflict(
            f"该批次当前为“{submission.get_status_display()}”，只有待签收的批次可以签收或退回"
        )
    return submission


def _locked_cases(batch: FormBatch) -> list[Application]:
    return list(
        Application.objects.select_for_update().filter(fund_form__batch=batch).order_by("pk")
    )


def _refuse_unless(cases: list[Application], status: str, rule: str) -> None:
    wrong = [f"{c.number}（{c.get_status_display()}）" for c in cases if c.status != status]
    if wrong:
        raise Conflict(f"{rule}，以下办件状态不符：" + "；".join(wrong))


def _name(user: User) -> str:
    return user.real_name or user.username


def _tell_submitter(submission: FinanceSubmission, kind: str, subject: str, body: str) -> None:
    notify(
        [submission.submitted_by],
        kind=kind,
        subject=subject,
        body=body,
        link=reverse("finance:submission_detail", args=[submission.batch_id]),
        dedupe_key=f"finance-submission:{submission.pk}:{submission.rounds}:{kind}",
    )


def instructions(actor: User, batch_id: int, file_format: str) -> list[dict[str, Any]]:
    """The payment instructions of a batch submitted to finance (待签收 or 已签收), audited:
    they carry the enterprises' full bank accounts."""
    require_permission(actor, EXPORT)
    batch = visible_batches(actor).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("审批表批次不存在或不在您的数据范围内")
    submission = FinanceSubmission.objects.filter(batch=batch).first()
    if submission is None or submission.status == St.RETURNED:
        state = submission.get_status_display() if submission else "未报送财政"
        raise Conflict(f"汇总表 {batch.number} 当前为“{state}”，报送财政后才能导出支付指令")
    rows = exporting.payment_instructions(batch)
    audit.record(
        "finance.instructions",
        actor=actor,
        target=submission,
        after={"batch": batch.number, "format": file_format, "rows": len(rows)},
    )
    return rows
