"""REST API of 审批管理 (registered in policywindow/api/root.py).

The same selectors and services as the approval pages: a task decided already is a 409, a task
of someone else a 404, bad input a 400 naming the field. Decisions accept ``Idempotency-Key``:
a retried request returns the first result instead of a conflict.
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import PaginationBase, paginate

from policywindow.api.idempotency import idempotent
from policywindow.api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE
from policywindow.api.schemas import PROVISIONAL_HELP, ErrorOut, Money, MoneyOut, labelled_enum
from policywindow.api.security import require
from policywindow.core import deadlines
from policywindow.core.errors import PermissionDenied, ValidationFailed

from . import selectors
from .models import TaskStatus, WorkflowTask
from .services import runtime
from .services.runtime import Decision

router = Router(tags=["审批管理"])

ActionValue = Literal["approve", "reject", "return_previous", "return_supplement"]
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
TaskStatusValue = labelled_enum(TaskStatus, "任务状态")


class TaskOut(Schema):
    id: int
    subject_type: str = Field(
        description="审批对象类型：application 政策兑现申请 / reform_report 改革任务进展报告"
    )
    subject_id: int = Field(description="审批对象编号")
    application_id: int | None = Field(description="申报编号（内部编号；审批对象不是申报时为空）")
    number: str = Field(description="审批对象编号（申报编号等）")
    enterprise_name: str = Field(description="所涉企业或报送单位")
    rule_title: str = Field(description="政策细则或事项名称")
    node: str = Field(description="审批节点")
    mode: str = Field(description="any 或签 / all 会签 / sequential 依次")
    status: TaskStatusValue
    status_label: str
    opened_at: dt.datetime
    due_at: dt.datetime
    due_provisional: bool = Field(
        description=f"{PROVISIONAL_HELP}（只对待办任务：已办理的任务期限不再重算，为 false）"
    )
    decided_at: dt.datetime | None
    opinion: str
    approved_amount: MoneyOut | None


def _shown(task: WorkflowTask, request: HttpRequest) -> dict[str, Any]:
    """A task as ``TaskOut`` shows it, in plain values: resolvers on the schema cost about
    half a millisecond of CPU a row. ``number``, ``enterprise_name`` and ``rule_title`` are
    columns of the task's own query (``selectors.CASE_COLUMNS``, ``services.locking``)."""
    return {
        "id": task.pk,
        "subject_type": task.subject_type,
        "subject_id": task.subject_id,
        "application_id": task.application_id,
        "number": task.number,
        "enterprise_name": task.enterprise_name,
        "rule_title": task.rule_title,
        "node": task.node_name,
        "mode": task.mode,
        "status": task.status,
        "status_label": TaskStatus(task.status).label,
        "opened_at": task.opened_at,
        "due_at": task.due_at,
        # Only an open task's deadline is computed again when its year is loaded
        # (workflow.deadline_tracking): a closed one needs no look at the holiday table.
        "due_provisional": task.status == TaskStatus.OPEN
        and deadlines.is_provisional(task.due_at, request),
        "decided_at": task.decided_at,
        "opinion": task.opinion,
        "approved_amount": task.approved_amount,
    }


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


def _mine(request: HttpRequest, act: Callable[[], WorkflowTask]) -> TaskOut:
    """Act on one's own task and answer it (stored too for an idempotent replay) from what the
    step loaded: nothing is read again. Another user's task is a 404, as if it did not exist."""
    try:
        task = act()
    except PermissionDenied as exc:
        raise Http404("审批任务不存在") from exc
    return TaskOut(**_shown(task, request))


class TaskPageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="页码，从 1 开始")
    page_size: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="每页条数，最多 100"
    )
    cursor: str | None = Field(
        None,
        max_length=40,
        description="上一页返回的 next：从上一页末尾接着读（翻到很深时更快）；"
        "给出时忽略 page 的位置，page 仅原样返回",
    )


class TaskPageOut(Schema):
    items: list[Any]
    total: int
    page: int
    page_size: int
    next: str | None = Field(description="下一页的游标（没有下一页时为 null）")


class TaskPagination(PaginationBase):
    """Page numbers with totals, as every list (``PagePagination``), and ``next``: a cursor that
    reads the following page from where this one ended, however deep (keyset paging)."""

    Input = TaskPageQuery

    Output = TaskPageOut

    def paginate_queryset(
        self,
        queryset: selectors.TaskList,
        pagination: TaskPageQuery,
        request: HttpRequest,
        **params: Any,
    ) -> dict[str, Any]:
        size = pagination.page_size
        if pagination.cursor is None:
            rows = queryset.page((pagination.page - 1) * size, size + 1)
        else:
            rows = queryset.after(*_position(pagination.cursor), size + 1)
        last = rows[size - 1] if len(rows) > size else None
        return {
            "items": [_shown(task, request) for task in rows[:size]],
            "total": queryset.count(),
            "page": pagination.page,
            "page_size": size,
            "next": _cursor(getattr(last, queryset.key), last.pk) if last else None,
        }


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
CURSOR = re.compile(r"(\d{1,20})-(\d{1,20})")
BAD_CURSOR = "游标无效，请使用上一页返回的 next"


def _cursor(moment: dt.datetime, pk: int) -> str:
    """The position of a row in its list: its ordering time (µs since 1970) and its id."""
    return f"{(moment - _EPOCH) // _MICROSECOND}-{pk}"


def _position(cursor: str) -> tuple[dt.datetime, int]:
    found = CURSOR.fullmatch(cursor)
    try:
        if found is not None:
            return _EPOCH + int(found[1]) * _MICROSECOND, int(found[2])
    except OverflowError:  # past year 9999: not a position any list gave
        pass
    raise ValidationFailed(BAD_CURSOR, details={"cursor": [BAD_CURSOR]})


@router.get("/tasks", response=list[TaskOut], summary="我的待办（按办理期限先后）")
@require("approval:task:todo")
@paginate(TaskPagination)
def todo(request: HttpRequest):
    return selectors.todo_list(request.auth)


@router.get("/tasks/done", response=list[TaskOut], summary="我的已办（最近办理的在前）")
@require("approval:task:done")
@paginate(TaskPagination)
def done(request: HttpRequest):
    return selectors.done_list(request.auth)


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
    return _mine(request, lambda: runtime.decide(request.auth, task_id, decision))


@router.post(
    "/tasks/{task_id}/transfer", response={200: TaskOut, **ERRORS}, summary="转办给本部门同事"
)
@require("approval:task:transfer")
def transfer(request: HttpRequest, task_id: int, payload: TransferIn):
    return _mine(
        request, lambda: runtime.transfer(request.auth, task_id, payload.to_user, payload.reason)
    )


@router.post(
    "/tasks/{task_id}/withdraw",
    response={200: TaskOut, **ERRORS},
    summary="撤回本人的审批（下一环节尚未办理时）",
)
@require("approval:task:decide")
def withdraw(request: HttpRequest, task_id: int):
    return _mine(request, lambda: runtime.withdraw(request.auth, task_id))
