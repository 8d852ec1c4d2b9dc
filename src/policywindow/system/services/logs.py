"""操作日志's Excel export, for the audit administrator: the log as the page filters it, each
event by its Chinese names. Exporting is itself written to the log."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from policywindow.core import exports
from policywindow.core.exports import Column
from policywindow.core.models import AuditEvent

from ..models import User
from ..selectors_logs import search_audit_events

EXPORT_TITLE = "操作日志"
COLUMNS = (
    Column("序号", 10),
    Column("时间", 20, "yyyy-mm-dd hh:mm:ss"),
    Column("操作人", 16),
    Column("操作", 22),
    Column("对象类型", 16),
    Column("对象", 30),
    Column("IP", 16),
    Column("结果", 8),
    Column("说明", 50),
    Column("日志链", 14),
)
RESULTS = dict(AuditEvent.Result.choices)


def export_operation_log(
    actor: User, criteria: Mapping[str, Any], filters: dict[str, str]
) -> bytes:
    """The events the page lists for ``criteria`` (described by ``filters``), newest first; at
    most ``exports.MAX_ROWS``; the export is recorded in the log it exports."""
    events = search_audit_events(**criteria)
    count = events.count()
    exports.check_size(count, "操作日志")
    body = exports.table_workbook(
        EXPORT_TITLE, COLUMNS, _rows(events), count=count, filters=filters, actor=actor
    )
    exports.record_export(actor, AuditEvent, filters, count)
    return body


def _rows(events: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    for event in events.iterator(chunk_size=2000):
        yield [
            event.seq,
            timezone.localtime(event.occurred_at).replace(tzinfo=None),
            event.actor_name,
            event.action_label,
            event.object_type_label if event.object_type else "",
            event.object_repr,
            event.ip or "",
            RESULTS.get(event.result, event.result),
            event.message,
            _chain_state(event),
        ]


def _chain_state(event: AuditEvent) -> str:
    if event.rejected:
        return "未经密钥写入"
    return "待封存" if event.seq is None else "已封存"
