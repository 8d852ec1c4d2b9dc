"""REST API of 一口受理 and 办理信息查询 (registered in policywindow/api/root.py).

The same services and selectors as the pages: a decision on a stale revision is
a 409, bad input a 400 naming the item, another enterprise's case a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import PROVISIONAL_HELP, ErrorOut, provisional_for
from policywindow.api.security import authenticated, public, require
from policywindow.core.requestctx import client_ip

from . import selectors, selectors_filing
from .api_filing import ApplicationStatusValue
from .models import Application
from .models import ApplicationStatus as S
from .services import intake

router = Router(tags=["一口受理与办理查询"])

CheckResultValue = Literal["complete", "missing", "nonconforming"]


class QueueItemOut(Schema):
    id: int
    number: str
    enterprise_name: str = Field(description="申报企业")
    rule_code: str
    rule_title: str
    channel: str = Field(description="online 网上申报 / window 窗口代办")
    submitted_at: dt.datetime
    revision: int = Field(description="办理受理时须原样提交的版本号（expected_revision）")

    @staticmethod
    def resolve_enterprise_name(app: Application) -> str:
        return app.enterprise.name

    @staticmethod
    def resolve_rule_code(app: Application) -> str:
        return app.rule.code

    @staticmethod
    def resolve_rule_title(app: Application) -> str:
        return app.rule_version.title


class CheckIn(Schema):
    key: str = Field(description="要件项标识（RequiredItem.key）")
    result: CheckResultValue = Field(
        description="complete 齐全 / missing 缺失 / nonconforming 不符合"
    )
    comment: str = Field("", max_length=intake.MAX_COMMENT)


class AcceptIn(Schema):
    checklist: list[CheckIn] = Field(description="每个要件项一条核验结果，须全部为齐全")
    note: str = Field("", max_length=intake.MAX_COMMENT, description="受理意见")
    expected_revision: int = Field(description="页面或列表读到的 revision；已被他人处理时返回 409")


class SupplementItemIn(Schema):
    key: str = Field(description="需补正的要件项标识")
    comment: str = Field(description="补正要求", max_length=intake.MAX_COMMENT)


class SupplementIn(Schema):
    items: list[SupplementItemIn] = Field(description="一次性告知的全部补正事项，至少一项")
    comment: str = Field("", max_length=intake.MAX_COMMENT, description="总体说明")
    expected_revision: int


class RefuseIn(Schema):
    reason: str = Field(max_length=intake.MAX_COMMENT, description="不予受理理由")
    expected_revision: int


class DecisionOut(Schema):
    id: int
    number: str
    status: ApplicationStatusValue
    status_label: str
    revision: int
    accepted_at: dt.datetime | None
    due_at: dt.datetime | None = Field(description="办结期限（该时刻之前办结）")
    due_provisional: bool = Field(description=PROVISIONAL_HELP)

    @staticmethod
    def resolve_status_label(app: Application) -> str:
        return S(app.status).label

    @staticmethod
    def resolve_due_provisional(app: Application, context: Any) -> bool:
        return provisional_for(app.due_at, context)


class TimelineEntryOut(Schema):
    occurred_at: dt.datetime
    actor: str
    action: str
    action_label: str
    from_status: str = Field(description="原状态（中文）")
    to_status: str = Field(description="新状态（中文）")
    note: str
    items: list[dict] = Field(description="补正告知的事项（key、label、comment）")
    node: str = Field(description="审批环节的记录所在的审批节点，其他记录为空")

    @staticmethod
    def resolve_from_status(entry: selectors.TimelineEntry) -> str:
        return entry.from_label

    @staticmethod
    def resolve_to_status(entry: selectors.TimelineEntry) -> str:
        return entry.to_label


class PublicStatusIn(Schema):
    number: str = Field(max_length=16, description="申报编号")
    credit_code: str = Field(max_length=18, description="统一社会信用代码")


class PublicStatusOut(Schema):
    number: str
    status: ApplicationStatusValue
    status_label: str
    submitted_on: dt.date | None
    accepted_on: dt.date | None
    due_on: dt.date | None = Field(description="办结期限的最后一个工作日")
    due_provisional: bool = Field(description=PROVISIONAL_HELP)


DECISION_RESPONSES = {200: DecisionOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get("/intake/queue", response=list[QueueItemOut], summary="受理队列（按提交时间先后）")
@require("window:intake:list")
@paginate(PagePagination)
def intake_queue(request: HttpRequest):
    return selectors.intake_queue(request.auth)


@router.post("/applications/{application_id}/accept", response=DECISION_RESPONSES, summary="受理")
@require("window:intake:accept")
def accept(request: HttpRequest, application_id: int, payload: AcceptIn):
    application = selectors.staff_case(request.auth, application_id)
    return intake.accept(
        request.auth,
        application,
        [check.model_dump() for check in payload.checklist],
        payload.note,
        expected_revision=payload.expected_revision,
    )


@router.post(
    "/applications/{application_id}/supplement",
    response=DECISION_RESPONSES,
    summary="一次性告知补正",
)
@require("window:intake:supplement")
def supplement(request: HttpRequest, application_id: int, payload: SupplementIn):
    application = selectors.staff_case(request.auth, application_id)
    return intake.request_supplement(
        request.auth,
        application,
        [item.model_dump() for item in payload.items],
        payload.comment,
        expected_revision=payload.expected_revision,
    )


@router.post(
    "/applications/{application_id}/refuse", response=DECISION_RESPONSES, summary="不予受理"
)
@require("window:intake:refuse")
def refuse(request: HttpRequest, application_id: int, payload: RefuseIn):
    application = selectors.staff_case(request.auth, application_id)
    return intake.refuse(
        request.auth, application, payload.reason, expected_revision=payload.expected_revision
    )


@router.get(
    "/applications/{application_id}/timeline",
    response={200: list[TimelineEntryOut], 404: ErrorOut},
    summary="办理记录（企业仅限本企业申报）",
)
@authenticated
def timeline(request: HttpRequest, application_id: int):
    return selectors.timeline(selectors_filing.readable_application(request.auth, application_id))


@router.get(
    "/status",
    response={200: PublicStatusOut, 404: ErrorOut, 429: ErrorOut},
    summary="办理状态公开查询（申报编号 + 统一社会信用代码）",
)
@public
def public_status(request: HttpRequest, query: Query[PublicStatusIn]):
    return selectors.public_status(query.number, query.credit_code, client_ip=client_ip(request))
