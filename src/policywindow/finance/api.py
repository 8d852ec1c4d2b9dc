"""REST API of 报送财政 and 拨付 (registered in policywindow/api/root.py).

The same selectors and services as the pages: a batch outside the caller's scope is a 404, a
step out of order (signing for a returned batch, paying a case twice) a 409 with the reason,
a wrong amount a 400 naming the field. Creating POSTs accept ``Idempotency-Key``. Payment
instructions carry full bank accounts: they are for the finance system, and audited.
"""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import ErrorOut, Money
from policywindow.api.security import require

from . import selectors
from .models import Disbursement, FinanceSubmission
from .services import disbursements, submissions

router = Router(tags=["财政报送"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class SubmissionOut(Schema):
    id: int
    batch_id: int
    batch_number: str = Field(description="汇总表编号")
    status: str = Field(description="submitted 待签收 / received 已签收 / returned 已退回")
    status_label: str
    rounds: int = Field(description="报送次数")
    forms: int = Field(description="审批表份数")
    total: str = Field(description="核定金额合计（元，两位小数）")
    submitted_at: dt.datetime
    submitted_by: str
    received_at: dt.datetime | None
    received_by: str
    return_reason: str

    @staticmethod
    def resolve_batch_number(item: FinanceSubmission) -> str:
        return item.batch.number

    @staticmethod
    def resolve_status_label(item: FinanceSubmission) -> str:
        return item.get_status_display()

    @staticmethod
    def resolve_forms(item: FinanceSubmission) -> int:
        return item.form_count

    @staticmethod
    def resolve_total(item: FinanceSubmission) -> str:
        return f"{item.total or Decimal('0'):.2f}"

    @staticmethod
    def resolve_submitted_by(item: FinanceSubmission) -> str:
        return item.submitted_by.real_name or item.submitted_by.username

    @staticmethod
    def resolve_received_by(item: FinanceSubmission) -> str:
        user = item.received_by
        return (user.real_name or user.username) if user else ""


class SubmitIn(Schema):
    batch_id: int = Field(description="经费审批表批次（汇总表）编号 id")


class ReturnIn(Schema):
    reason: str = Field(description="退回原因（2 至 500 字）")


class DisbursementIn(Schema):
    fund_form_id: int = Field(description="经费审批表 id")
    amount: Money = Field(description='拨付金额（元），须等于核定金额，如 "300000.00"')
    paid_on: dt.date = Field(description="支付日期 YYYY-MM-DD")
    voucher: str = Field(description="凭证号")
    bank_reference: str = Field("", description="银行流水号")


class DisbursementOut(Schema):
    id: int
    fund_form_id: int
    form_number: str
    application_number: str
    amount: str
    paid_on: dt.date
    voucher: str
    bank_reference: str
    recorded_at: dt.datetime

    @staticmethod
    def resolve_form_number(item: Disbursement) -> str:
        return item.fund_form.number

    @staticmethod
    def resolve_application_number(item: Disbursement) -> str:
        return item.application.number

    @staticmethod
    def resolve_amount(item: Disbursement) -> str:
        return f"{item.amount:.2f}"


class InstructionOut(Schema):
    form_number: str = Field(description="审批表编号")
    enterprise: str = Field(description="收款单位")
    credit_code: str = Field(description="统一社会信用代码")
    bank_name: str = Field(description="开户银行")
    account: str = Field(description="银行账号（完整，供财政支付系统使用）")
    amount: str = Field(description="金额（元）")
    purpose: str = Field(description="用途")


class InstructionsOut(Schema):
    batch_number: str
    count: int
    instructions: list[InstructionOut]


def _submission(request: HttpRequest, submission: FinanceSubmission) -> FinanceSubmission:
    """The submission as answered (and stored for an idempotent replay), with its totals."""
    return selectors.submission(request.auth, submission.pk)


@router.get("/finance-submissions", response=list[SubmissionOut], summary="财政报送列表")
@require("finance:submission:list")
@paginate(PagePagination)
def list_submissions(request: HttpRequest):
    return selectors.submissions(request.auth)


@router.post(
    "/finance-submissions",
    response={201: SubmissionOut, **ERRORS},
    summary="报送财政（批次内办件进入待拨付；支持 Idempotency-Key）",
)
@require("finance:submission:submit")
@idempotent
def submit(request: HttpRequest, payload: SubmitIn):
    submission = submissions.submit(request.auth, payload.batch_id)
    return Status(201, SubmissionOut.from_orm(_submission(request, submission)))


@router.post(
    "/finance-submissions/{submission_id}/receive",
    response={200: SubmissionOut, **ERRORS},
    summary="财政签收",
)
@require("finance:submission:receive")
def receive(request: HttpRequest, submission_id: int):
    item = selectors.submission(request.auth, submission_id)
    return _submission(request, submissions.receive(request.auth, item.pk))


@router.post(
    "/finance-submissions/{submission_id}/return",
    response={200: SubmissionOut, **ERRORS},
    summary="财政退回（批次内办件恢复为公示通过）",
)
@require("finance:submission:receive")
def send_back(request: HttpRequest, submission_id: int, payload: ReturnIn):
    item = selectors.submission(request.auth, submission_id)
    return _submission(request, submissions.send_back(request.auth, item.pk, payload.reason))


@router.get(
    "/finance-submissions/{submission_id}/payment-instructions",
    response={200: InstructionsOut, **ERRORS},
    summary="支付指令（含完整银行账号，每次导出记入操作日志）",
)
@require("finance:submission:export")
def payment_instructions(request: HttpRequest, submission_id: int):
    item = selectors.submission(request.auth, submission_id)
    rows = submissions.instructions(request.auth, item.batch_id, "api")
    return {"batch_number": item.batch.number, "count": len(rows), "instructions": rows}


@router.post(
    "/disbursements",
    response={201: DisbursementOut, **ERRORS},
    summary="登记拨付（按核定金额足额拨付；支持 Idempotency-Key）",
)
@require("finance:disbursement:record")
@idempotent
def record_disbursement(request: HttpRequest, payload: DisbursementIn):
    form = selectors.visible_form(request.auth, payload.fund_form_id)
    payment = disbursements.Payment(
        payload.amount, payload.paid_on, payload.voucher, payload.bank_reference
    )
    return Status(
        201, DisbursementOut.from_orm(disbursements.record(request.auth, form.pk, payment))
    )
