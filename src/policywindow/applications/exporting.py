"""办件查询's list as an Excel sheet: one row per case, with its deadline as the page shows it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from policywindow.core.deadlines import last_day
from policywindow.core.exports import DATE, DATETIME, MONEY, Column, table_workbook

from . import selectors
from .models import Application
from .models import ApplicationStatus as S

TITLE = "办件查询结果"
COLUMNS = (
    Column("申报编号", 16),
    Column("申报企业", 34),
    Column("统一社会信用代码", 22),
    Column("细则编号", 14),
    Column("政策细则", 36),
    Column("牵头部门", 20),
    Column("申报渠道", 10),
    Column("状态", 12),
    Column("申请金额（元）", 18, MONEY),
    Column("核定金额（元）", 18, MONEY),
    Column("提交时间", 18, DATETIME),
    Column("受理时间", 18, DATETIME),
    Column("办结期限", 12, DATE),
    Column("时限提示", 22),
)


def workbook(cases: QuerySet[Application], count: int, filters: dict, actor: Any) -> bytes:
    in_review = cases.filter(status=S.IN_REVIEW).select_related(None).only("pk", "due_at", "status")
    marks = selectors.deadline_marks(in_review)
    rows = _rows(cases, marks)
    return table_workbook(TITLE, COLUMNS, rows, count=count, filters=filters, actor=actor)


def _rows(cases: QuerySet[Application], marks: dict) -> Iterator[list[Any]]:
    for case in cases.iterator(chunk_size=2000):
        mark = marks.get(case.pk)
        yield [
            case.number,
            case.enterprise.name,
            case.enterprise.credit_code,
            case.rule.code,
            case.rule_version.title,
            case.department.name if case.department_id else "",
            case.get_channel_display(),
            case.get_status_display(),
            case.requested_amount,
            case.approved_amount,
            _local(case.submitted_at),
            _local(case.accepted_at),
            last_day(case.due_at),
            f"{mark.label}{'（暂定）' if mark.provisional else ''}" if mark else "",
        ]


def _local(value) -> Any:
    """Excel has no time zones: the Beijing time, without its zone."""
    return timezone.localtime(value).replace(tzinfo=None) if value else None
