"""REST API of 审批管理 (registered in policywindow/api/root.py).

The same selectors and services as the approval pages: a task decided already is a 409, a task
of someone else a 404, bad input a 400 naming the field. Decisions accept ``Idempotency-Key``:
a retried request returns the first result instead of a conflict.
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import PagePagination
from policywindow.api.schemas import PROVISIONAL_HELP, ErrorOut, Money, provisional_for
from policywindow.api.security import require

from . import selectors
from .models import TaskStatus, WorkflowTask
from .services import runtime
from .services.runtime import Decision

router = Router(tags=["审批管理"])

ActionValue = Literal["approve", "reject", "return_previous", "return_supplement"]
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class TaskOut(Schema):
    id: int
    application_id: int
    number: str = Field(description="申报编号")
    enterprise_name: str
    rule_title: str
    node: str = Field(description="审批节点")
    mode: str = Field(description="any 或签 / all 会签 / sequential 依次")
    status: str
    status_label: str
    opened_at: dt.datetime
    due_at: dt.datetime
    due_provisional: bool = Field(description=PROVISIONAL_HELP)
    decided_at: dt.datetime | None
    opinion: str
    approved_amount: Decimal | None

    @staticmethod
    def resolve_number(task: WorkflowTask) -> str:
        return task.application.number

    @staticmethod
    def resolve_enterprise_name(task: WorkflowTask) -> str:
        return task.application.enterprise.name

    @staticmethod
    def resolve_rule_title(task: WorkflowTask) -> str:
        return task.application.rule_version.title

    @staticmethod
    def resolve_node(task: WorkflowTask) -> str:
        return task.node_name

    @staticmethod
    def resolve_status_label(task: WorkflowTask) -> str:
        return TaskStatus(task.status).label

    @staticmethod
    def resolve_due_provisional(task: WorkflowTask, context: Any) -> bool:
        return provisional_for(task.due_at, context)


class ReviewSupplementItemIn(Schema):
    key: str = Field(description="需企业补正的要件项标识")
    comment: str = Field(description="补正要求")


class DecisionIn(Schema):
    action: ActionValue = Field(
        description="approve 通过 / reject 驳回 / return_previous 退回上一级 / "
        "return_supplement 退回企业补正"
    )
    opinion: str = Field(description="审批意见（必填）")
    approved_amount: Money | None = Field(
        None, description="核定金额（元，字符串，最多两位小数），只能调低，调低须说明理由"
    )
    amount_reason: str = Field("", description="核减理由")
    supplement_items: list[ReviewSupplementItemIn] = Field(
        [], description="退回企业补正（或驳回即补正的节点）时需补正的要件"
    )


class TransferIn(Schema):
    to_user: int = Field(description="接办人（本部门在岗工作人员）的用户编号")
    reason: str = Field(description="转办说明")


def _task(task: WorkflowTask) -> TaskOut:
    """The task as answered (and stored for an idempotent replay), read in one query."""
    related = ("application__enterprise", "application__rule_version")
    return TaskOut.from_orm(WorkflowTask.objects.select_related(*related).get(pk=task.pk))


@router.get("/tasks", response=list[TaskOut], summary="我的待办（按办理期限先后）")
@require("approval:task:todo")
@paginate(PagePagination)
def todo(request: HttpRequest):
    return selectors.todo_tasks(request.auth)


@router.get("/tasks/done", response=list[TaskOut], summary="我的已办（最近办理的在前）")
@require("approval:task:done")
@paginate(PagePagination)
def done(request: HttpRequest):
    return selectors.done_tasks(request.auth)


@router.post(
    "/tasks/{task_id}/decision",
    response={200: TaskOut, **ERRORS},
    summary="审批（通过、驳回、退回；支持 Idempotency-Key）",
)
@require("approval:task:decide")
@idempotent
def decide(request: HttpRequest, task_id: int, payload: DecisionIn):
    decision = Decision(
        payload.action,
        payload.opinion,
        payload.approved_amount,
        payload.amount_reason,
        tuple(item.model_dump() for item in payload.supplement_items),
    )
    return _task(
        runtime.decide(request.auth, selectors.my_task(request.auth, task_id).pk, decision)
    )


@router.post(
    "/tasks/{task_id}/transfer", response={200: TaskOut, **ERRORS}, summary="转办给本部门同事"
)
@require("approval:task:transfer")
def transfer(request: HttpRequest, task_id: int, payload: TransferIn):
    task = selectors.my_task(request.auth, task_id)
    return _task(runtime.transfer(request.auth, task.pk, payload.to_user, payload.reason))


@router.post(
    "/tasks/{task_id}/withdraw",
    response={200: TaskOut, **ERRORS},
    summary="撤回本人的审批（下一环节尚未办理时）",
)
@require("approval:task:decide")
def withdraw(request: HttpRequest, task_id: int):
    task = selectors.my_task(request.auth, task_id)
    return _task(runtime.withdraw(request.auth, task.pk))
