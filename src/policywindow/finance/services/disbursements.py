"""拨付: a finance officer records the payment of one case of a received batch, in full.

A case is paid once: the submission row and the case row are locked before anything is
checked (so two payments of one case queue, and the second sees the first), and the
one-to-one ``Disbursement.application`` is the last line of defence. The paid amount must be
the fund form's approved amount; it moves into the budget's ``disbursed`` under the budget
row's lock, after the case row and the audit chain (the order of ``budgets.commit``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, NotFound, ValidationFailed
from policywindow.core.money import format_yuan, parse_yuan
from policywindow.fundforms.models import FundForm
from policywindow.system.models import User

from .. import selectors
from ..models import Budget, Commitment, Disbursement, FinanceSubmission, PaymentImport

RECORD = "finance:disbursement:record"
MAX_REFERENCE = 60


@dataclass(frozen=True)
class Payment:
    """A payment as entered or imported; checked by ``checked``."""

    amount: object
    paid_on: dt.date | None
    voucher: str
    bank_reference: str = ""


@dataclass(frozen=True)
class Source:
    """Where an imported payment came from: the import and the file's line."""

    payment_import: PaymentImport
    line: int


def record(actor: User, fund_form_id: int, payment: Payment) -> Disbursement:
    """Record the full payment of one form's case; the case becomes 已拨付."""
    require_permission(actor, RECORD)
    with transaction.atomic():
        return record_locked(actor, fund_form_id, payment)


def record_locked(
    actor: User, fund_form_id: int, payment: Payment, source: Source | None = None
) -> Disbursement:
    """``record`` inside the caller's transaction (the import records many in one)."""
    amount = _checked(payment)
    # The actor's data scope is checked here, so no caller (page, API, import) can pay past it.
    form = selectors.visible_forms(actor).select_related("batch").filter(pk=fund_form_id).first()
    if form is None:
        raise NotFound("经费审批表不存在或不在您的数据范围内")
    submission = _received_submission(form)
    case = Application.objects.select_for_update().get(pk=form.application_id)
    _refuse_paid(form, case)
    if amount != form.approved_amount:
        message = (
            f"拨付金额 {format_yuan(amount)} 与经费审批表 {form.number} 的核定金额 "
            f"{format_yuan(form.approved_amount)} 不一致，须按核定金额足额拨付"
        )
        raise ValidationFailed(message, details={"amount": [message]})
    try:
        with transaction.atomic():
            paid = Disbursement.objects.create(
                application=case,
                fund_form=form,
                submission=submission,
                amount=amount,
                paid_on=payment.paid_on,
                voucher=payment.voucher.strip(),
                bank_reference=payment.bank_reference.strip(),
                recorded_by=actor,
                recorded_at=timezone.now(),
                source=source.payment_import if source else None,
                source_line=source.line if source else None,
            )
    except IntegrityError as exc:
        raise Conflict(f"经费审批表 {form.number} 已登记拨付，不能重复拨付") from exc
    note = f"审批表 {form.number}，拨付 {format_yuan(amount)}，凭证号 {paid.voucher}"
    data = {"amount": f"{amount:.2f}", "paid_on": payment.paid_on.isoformat()}
    transitions.move(case, S.DISBURSED, actor=actor, action="disburse", note=note, data=data)
    paid.budget = _add_to_budget(case, amount)
    paid.save(update_fields=["budget"])
    audit.record(
        "disbursement.record",
        actor=actor,
        target=paid,
        after={
            "form": form.number,
            "amount": amount,
            "paid_on": payment.paid_on,
            "voucher": paid.voucher,
            "import": source.payment_import.pk if source else None,
        },
    )
    return paid


def _checked(payment: Payment) -> Decimal:
    problems: dict[str, list[str]] = {}
    try:
        amount = parse_yuan(payment.amount, "拨付金额")
    except ValueError as exc:
        amount = None
        problems["amount"] = [str(exc)]
    else:
        if amount <= 0:
            problems["amount"] = ["拨付金额须大于 0 元"]
    today = timezone.localdate()
    if payment.paid_on is None:
        problems["paid_on"] = ["请填写支付日期"]
    elif payment.paid_on > today:
        problems["paid_on"] = [f"支付日期不能晚于今天（{today:%Y-%m-%d}）"]
    voucher = (payment.voucher or "").strip()
    if not voucher or len(voucher) > MAX_REFERENCE:
        problems["voucher"] = [f"请填写凭证号（不超过 {MAX_REFERENCE} 个字符）"]
    if len((payment.bank_reference or "").strip()) > MAX_REFERENCE:
        problems["bank_reference"] = [f"银行流水号不超过 {MAX_REFERENCE} 个字符"]
    if problems:
        raise ValidationFailed("拨付信息有误，请按提示修改", details=problems)
    return amount


def _received_submission(form: FundForm) -> FinanceSubmission:
    submission = (
        FinanceSubmission.objects.select_for_update().filter(batch_id=form.batch_id).first()
    )
    if submission is None or submission.status != FinanceSubmission.Status.RECEIVED:
        state = submission.get_status_display() if submission else "未报送财政"
        raise Conflict(
            f"经费审批表 {form.number} 所在的汇总表 {form.batch.number} 当前为“{state}”，"
            "财政签收后才能登记拨付"
        )
    return submission


def _refuse_paid(form: FundForm, case: Application) -> None:
    paid = Disbursement.objects.filter(application=case).first()
    if paid is not None:
        raise Conflict(
            f"申报 {case.number}（审批表 {form.number}）已于 {paid.paid_on:%Y-%m-%d} 拨付 "
            f"{format_yuan(paid.amount)}（凭证号 {paid.voucher}），不能重复拨付"
        )
    if case.status != S.IN_FINANCE:
        raise Conflict(
            f"申报 {case.number} 当前状态为“{case.get_status_display()}”，不是待拨付，不能登记拨付"
        )


def _add_to_budget(case: Application, amount: Decimal) -> Budget | None:
    """The paid amount joins ``disbursed`` of the budget the case's approval took from."""
    commitment = Commitment.objects.filter(application=case, released_at__isnull=True).first()
    if commitment is None or commitment.budget_id is None:
        return None
    budget = Budget.objects.select_for_update().get(pk=commitment.budget_id)
    budget.disbursed += amount
    budget.save(update_fields=["disbursed", "updated_at"])
    return budget
