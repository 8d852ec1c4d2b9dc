"""REST API of 公示, 报送财政 and 拨付 (registered in policywindow/api/root.py).

The same selectors and services as the pages: a batch outside the caller's scope is a 404, a
step out of order (signing for a returned batch, paying a case twice) a 409 with the reason,
a wrong amount a 400 naming the field. Creating POSTs accept ``Idempotency-Key``. Payment
instructions carry full bank accounts: they are for the finance system, and audited.
"""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import ErrorOut, Money, MoneyOut, labelled_enum
from policywindow.api.security import require

from . import selectors
from .models import Disbursement, FinanceSubmission, PublicityBatch, PublicityEntry
from .services import disbursements, publicity, submissions

router = Router(tags=["财政报送"])
publicity_router = Router(tags=["公示"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
SubmissionStatusValue = labelled_enum(FinanceSubmission.Status, "报送状态")


class SubmissionOut(Schema):
    id: int
    batch_id: int
    batch_number: str = Field(description="汇总表编号")
    status: SubmissionStatusValue
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


class PublicityCandidateOut(Schema):
    id: int = Field(description="申报 id（发布公示时放入 application_ids）")
    number: str
    enterprise_name: str
    rule_code: str
    rule_title: str
    approved_amount: MoneyOut | None = Field(description="核定金额（元，两位小数）")
    decided_at: dt.datetime | None = Field(description="审批办结时间")

    @staticmethod
    def resolve_enterprise_name(app) -> str:
        return app.enterprise.name

    @staticmethod
    def resolve_rule_code(app) -> str:
        return app.rule.code

    @staticmethod
    def resolve_rule_title(app) -> str:
        return app.rule_version.title


class PublicityCandidateFilter(Schema):
    rule_id: int | None = Field(None, description="按细则（Rule id）筛选")


class PublishIn(Schema):
    application_ids: list[int] = Field(
        min_length=1,
        max_length=publicity.MAX_CASES,
        description=f"要公示的审核通过的申报 id（1 至 {publicity.MAX_CASES} 件）",
    )
    title: str = Field(min_length=1, max_length=100, description="公示名称（不超过 100 字）")
    days: int = Field(
        ge=1, le=publicity.MAX_DAYS, description=f"公示期（1 至 {publicity.MAX_DAYS} 个工作日）"
    )


class PublicityEntryOut(Schema):
    order: int
    application_id: int
    application_number: str
    enterprise_name: str
    rule_title: str
    amount: MoneyOut | None = Field(description="公示金额（元）")
    withdrawn_at: dt.datetime | None = Field(description="撤回公示的时间（未撤回为空）")
    open_objections: int = Field(description="未处理的异议数")

    @staticmethod
    def resolve_application_number(entry: PublicityEntry) -> str:
        return entry.application.number


class PublicityBatchOut(Schema):
    id: int
    title: str
    days: int = Field(description="公示期（工作日）")
    starts_at: dt.datetime
    ends_at: dt.datetime = Field(description="公示期届满时刻（此后无异议的办件转为公示通过）")
    running: bool = Field(description="是否仍在公示期内")
    published_by: str
    cases: int = Field(description="本人数据范围内的公示办件数")
    open_objections: int

    @staticmethod
    def resolve_published_by(batch: PublicityBatch) -> str:
        return batch.published_by.real_name or batch.published_by.username


class PublicityBatchDetailOut(PublicityBatchOut):
    entries: list[PublicityEntryOut] = Field(description="本人数据范围内的公示办件")

    @staticmethod
    def resolve_entries(batch: PublicityBatch, context) -> list[PublicityEntry]:
        return list(selectors.batch_entries(context["request"].auth, batch))


def _publicity_batch(request: HttpRequest, pk: int) -> PublicityBatch:
    """Every batch is public (the notice); its cases are shown within the reader's scope."""
    return get_object_or_404(selectors.batches(request.auth), pk=pk)


@publicity_router.get(
    "/publicity-candidates",
    response=list[PublicityCandidateOut],
    summary="待公示的审核通过办件（按数据范围，审批办结早的在前）",
)
@require("finance:publicity:publish")
@paginate(PagePagination)
def publicity_candidates(request: HttpRequest, filters: Query[PublicityCandidateFilter]):
    return selectors.publishable(request.auth, filters.rule_id)


@publicity_router.get(
    "/publicity-batches", response=list[PublicityBatchOut], summary="公示批次列表（新发布的在前）"
)
@require("finance:publicity:list")
@paginate(PagePagination)
def list_publicity_batches(request: HttpRequest):
    return selectors.batches(request.auth)


@publicity_router.post(
    "/publicity-batches",
    response={201: PublicityBatchDetailOut, **ERRORS},
    summary="发布公示（所选办件转为公示中；支持 Idempotency-Key）",
    description="所选办件须均为审核通过且在本人数据范围内，全部公示或全部不公示。公示期按工作日"
    "计算，期满后由后台任务把无异议的办件转为公示通过（无需调用接口）。",
)
@require("finance:publicity:publish")
@idempotent
def publish(request: HttpRequest, payload: PublishIn):
    batch = publicity.publish(request.auth, payload.application_ids, payload.title, payload.days)
    detail = _publicity_batch(request, batch.pk)
    return Status(201, PublicityBatchDetailOut.from_orm(detail, context={"request": request}))


@publicity_router.get(
    "/publicity-batches/{batch_id}",
    response={200: PublicityBatchDetailOut, 404: ErrorOut},
    summary="公示批次详情（含数据范围内的公示办件）",
)
@require("finance:publicity:list")
def get_publicity_batch(request: HttpRequest, batch_id: int):
    return _publicity_batch(request, batch_id)


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
