"""REST API of 经费审批表 (registered in policywindow/api/root.py).

The same selectors and services as the pages (fundforms/views.py): cases a form can be issued
for, issuing a batch, its progress, the forms with their ids (what 登记拨付 names), and the
signed PDFs. A form or batch outside the caller's data scope is a 404; a case that moved or was
issued meanwhile a 409; a bad choice a 400 naming the field. Issuing accepts
``Idempotency-Key``.
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import ErrorOut, MoneyOut, labelled_enum
from policywindow.api.security import require
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.files import send_file

from . import rendering, selectors, services
from .models import FormBatch, FundForm

router = Router(tags=["经费审批表"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
PDF = "application/pdf"
PDF_RESPONSE = {
    "responses": {
        "200": {
            "description": "已签章的 PDF 文件（首次下载时生成并留存）",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}

ApplicationStatusValue = labelled_enum(S, "办件状态")


class FundFormCandidateOut(Schema):
    id: int = Field(description="申报 id（出具时放入 application_ids）")
    number: str
    enterprise_name: str
    rule_code: str
    status: ApplicationStatusValue
    status_label: str
    approved_amount: MoneyOut = Field(description="核定金额（元，两位小数）")
    fund_form_id: int | None = Field(description="已出具的经费审批表 id（未出具为空）")

    @staticmethod
    def resolve_enterprise_name(app: Application) -> str:
        return app.enterprise.name

    @staticmethod
    def resolve_rule_code(app: Application) -> str:
        return app.rule.code

    @staticmethod
    def resolve_status_label(app: Application) -> str:
        return S(app.status).label

    @staticmethod
    def resolve_fund_form_id(app: Application) -> int | None:
        form = getattr(app, "fund_form", None)
        return form.pk if form else None


class FundFormCandidateFilter(Schema):
    issued: str = Field(
        selectors.Issued.PENDING,
        description="pending 待出具（默认）/ issued 已出具 / all 全部",
        pattern=f"^({selectors.Issued.PENDING}|{selectors.Issued.ISSUED}|{selectors.Issued.ALL})$",
    )
    rule_id: int | None = Field(None, description="按细则（Rule id）筛选")


class FundFormIssueIn(Schema):
    application_ids: list[int] = Field(
        min_length=1,
        max_length=services.MAX_BATCH,
        description=f"公示通过的申报 id（1 至 {services.MAX_BATCH} 件），每件出具一份审批表",
    )
    label: str = Field("", max_length=services.MAX_LABEL, description="批次名称（可不填）")


class FundFormOut(Schema):
    id: int = Field(description="经费审批表 id（登记拨付时的 fund_form_id）")
    number: str = Field(description="审批表编号")
    batch_id: int
    batch_number: str = Field(description="汇总表编号")
    application_id: int
    application_number: str
    enterprise_name: str
    approved_amount: MoneyOut = Field(description="核定金额（元，两位小数）")
    issued_at: dt.datetime
    status: ApplicationStatusValue
    status_label: str

    @staticmethod
    def resolve_batch_number(form: FundForm) -> str:
        return form.batch.number

    @staticmethod
    def resolve_application_number(form: FundForm) -> str:
        return form.application.number

    @staticmethod
    def resolve_enterprise_name(form: FundForm) -> str:
        return form.application.enterprise.name

    @staticmethod
    def resolve_status(form: FundForm) -> str:
        return form.application.status

    @staticmethod
    def resolve_status_label(form: FundForm) -> str:
        return S(form.application.status).label


class FundFormFilter(Schema):
    batch_id: int | None = Field(None, description="按批次筛选")
    application_id: int | None = Field(None, description="按申报筛选（找到某件办件的审批表）")


class FileProgressOut(Schema):
    state: Literal["ready", "running", "queued", "failed"] = Field(
        description="ready 已完成 / running 生成中 / queued 等待后台任务 / failed 失败"
    )
    total: int = Field(description="签章文件总数（每份审批表一个，另加汇总表）")
    done: int
    failed: int
    percent: int
    error: str = Field(description="最近一次失败原因")


class FormBatchOut(Schema):
    id: int
    number: str = Field(description="汇总表编号")
    label: str
    created_at: dt.datetime
    created_by: str
    forms: int = Field(description="审批表份数")
    total: MoneyOut = Field(description="核定金额合计（元）")
    progress: FileProgressOut = Field(
        description="签章文件的后台生成进度（下载 PDF 不必等待：未生成的会即时生成）"
    )

    @staticmethod
    def resolve_created_by(batch: FormBatch) -> str:
        return batch.created_by.real_name or batch.created_by.username

    @staticmethod
    def resolve_forms(batch: FormBatch) -> int:
        return batch.form_count

    @staticmethod
    def resolve_total(batch: FormBatch) -> Decimal:
        return batch.total or Decimal("0")

    @staticmethod
    def resolve_progress(batch: FormBatch) -> dict[str, Any]:
        progress = selectors.file_progress(batch)
        return {
            "state": progress.state,
            "total": progress.total,
            "done": progress.done,
            "failed": progress.failed,
            "percent": progress.percent,
            "error": progress.error,
        }


class FormBatchDetailOut(FormBatchOut):
    items: list[FundFormOut] = Field(description="批次内的审批表（按序号）")

    @staticmethod
    def resolve_items(batch: FormBatch) -> list[FundForm]:
        return list(
            batch.forms.select_related("application__enterprise", "batch").order_by("sequence")
        )


@router.get(
    "/fund-form-candidates",
    response=list[FundFormCandidateOut],
    summary="可出具经费审批表的办件（公示通过及以后，按数据范围，审批办结早的在前）",
)
@require("finance:form:list")
@paginate(PagePagination)
def list_candidates(request: HttpRequest, filters: Query[FundFormCandidateFilter]):
    found = selectors.CaseFilter(rule_id=filters.rule_id, issued=filters.issued)
    return selectors.eligible_cases(request.auth, found).select_related("enterprise", "rule")


@router.post(
    "/fund-form-batches",
    response={201: FormBatchDetailOut, **ERRORS},
    summary="出具经费审批表（每件一份、编号连续，成一个批次；支持 Idempotency-Key）",
    description="所选办件须为公示通过、在本人数据范围内、尚未出具。签章 PDF 由后台任务生成，"
    "progress 给出进度；下载时尚未生成的会即时生成。",
)
@require("finance:form:create")
@idempotent
def issue_batch(request: HttpRequest, payload: FundFormIssueIn):
    batch = services.issue_batch(request.auth, payload.application_ids, payload.label)
    return Status(201, FormBatchDetailOut.from_orm(selectors.batch_of(request.auth, batch.pk)))


@router.get(
    "/fund-form-batches",
    response=list[FormBatchOut],
    summary="经费审批表批次列表（数据范围内，新出具的在前）",
)
@require("finance:form:list")
@paginate(PagePagination)
def list_batches(request: HttpRequest):
    return selectors.visible_batches(request.auth)


@router.get(
    "/fund-form-batches/{batch_id}",
    response={200: FormBatchDetailOut, 404: ErrorOut},
    summary="经费审批表批次详情（含审批表与签章文件生成进度）",
)
@require("finance:form:list")
def get_batch(request: HttpRequest, batch_id: int):
    return selectors.batch_of(request.auth, batch_id)


@router.get(
    "/fund-form-batches/{batch_id}/pdf",
    response={403: ErrorOut, 404: ErrorOut},
    summary="下载汇总表及审批表 PDF（已签章）",
    openapi_extra=PDF_RESPONSE,
)
@require("finance:form:list")
def batch_pdf(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.batch_of(request.auth, batch_id)
    data = services.batch_file(batch)
    return send_file(data, f"{rendering.BATCH_TITLE}-{batch.number}.pdf", PDF)


@router.get(
    "/fund-forms",
    response=list[FundFormOut],
    summary="经费审批表列表（数据范围内；id 即登记拨付的 fund_form_id）",
)
@require("finance:form:list")
@paginate(PagePagination)
def list_forms(request: HttpRequest, filters: Query[FundFormFilter]):
    forms = selectors.visible_forms(request.auth).select_related("application__enterprise")
    if filters.batch_id is not None:
        forms = forms.filter(batch_id=filters.batch_id)
    if filters.application_id is not None:
        forms = forms.filter(application_id=filters.application_id)
    return forms.order_by("-issued_at", "-sequence")


@router.get(
    "/fund-forms/{form_id}/pdf",
    response={403: ErrorOut, 404: ErrorOut},
    summary="下载经费审批表 PDF（已签章）",
    openapi_extra=PDF_RESPONSE,
)
@require("finance:form:list")
def form_pdf(request: HttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_of(request.auth, form_id)
    data = services.form_file(form)
    return send_file(data, f"{rendering.FORM_TITLE}-{form.number}.pdf", PDF)
