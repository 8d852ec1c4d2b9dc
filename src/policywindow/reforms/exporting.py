"""The programme as an Excel workbook: items, every task, and completion by department."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from policywindow.core import calendar
from policywindow.core.deadlines import last_day
from policywindow.core.spreadsheets import workbook_bytes

from .models import DISPLAY_STATUSES, ReformTask, Scope
from .selectors import ProgrammeSummary, status_label

STATUS_COLUMNS = [label for _, label in DISPLAY_STATUSES]
ITEM_HEADER = (
    "序号",
    "领域",
    "借鉴推广事项",
    "实施内容",
    "负责部门",
    "推广范围",
    "任务数",
    *STATUS_COLUMNS,
    "完成率",
    "状态",
)
TASK_HEADER = (
    "序号",
    "借鉴推广事项",
    "负责部门",
    "落实地区",
    "办理期限",
    "期限说明",
    "状态",
    "完成进度（%）",
    "最近报送时间",
    "完成时间",
)
GROUP_HEADER = ("负责部门", "任务数", *STATUS_COLUMNS, "完成率")
HEAD_FILL = PatternFill("solid", fgColor="DCE6F4")
WRAP = Alignment(wrap_text=True, vertical="top")


def programme_workbook(
    summary: ProgrammeSummary, tasks: Iterable[ReformTask], filters_text: str
) -> bytes:
    book = Workbook()
    note = f"{summary.programme.title}（导出时间 {_now_text()}；{filters_text}）"
    _items_sheet(book.active, summary, note)
    _tasks_sheet(book.create_sheet("任务明细"), tasks, note)
    _groups_sheet(book.create_sheet("部门完成情况"), summary, note)
    return workbook_bytes(book)


def _items_sheet(sheet, summary: ProgrammeSummary, note: str) -> None:
    sheet.title = "事项汇总"
    _head(sheet, note, ITEM_HEADER, (6, 16, 28, 60, 18, 14, 8, 8, 8, 8, 8, 8, 8, 8))
    scopes = dict(Scope.choices)
    for block in summary.categories:
        for row in block.rows:
            item, tally = row.item, row.tally
            sheet.append(
                [
                    item.number,
                    block.heading,
                    item.title,
                    item.content,
                    " ".join(row.departments),
                    scopes[item.scope],
                    tally.total,
                    *(tally.counts[status] for status, _ in DISPLAY_STATUSES),
                    f"{tally.rate}%",
                    status_label(tally.status),
                ]
            )
            for cell in sheet[sheet.max_row]:
                cell.alignment = WRAP


def _tasks_sheet(sheet, tasks: Iterable[ReformTask], note: str) -> None:
    _head(sheet, note, TASK_HEADER, (6, 30, 18, 26, 12, 10, 10, 12, 18, 18))
    until = calendar.loaded_until()  # once for the sheet: a provisional deadline says so
    for task in tasks:
        sheet.append(
            [
                task.item.number,
                task.item.title,
                task.department.name,
                task.locality.name,
                last_day(task.due_at),
                "暂定" if calendar.is_provisional(task.due_at, until) else "",
                status_label(task.display_status),
                task.percent,
                _time_text(task.reported_at),
                _time_text(task.accepted_at),
            ]
        )
        sheet.cell(row=sheet.max_row, column=5).number_format = "yyyy-mm-dd"


def _groups_sheet(sheet, summary: ProgrammeSummary, note: str) -> None:
    _head(sheet, note, GROUP_HEADER, (22, 8, 8, 8, 8, 8, 8, 8))
    for row in summary.by_department:
        tally = row.tally
        sheet.append(
            [
                row.department.name,
                tally.total,
                *(tally.counts[status] for status, _ in DISPLAY_STATUSES),
                f"{tally.rate}%",
            ]
        )


def _head(sheet, note: str, header: tuple[str, ...], widths: tuple[int, ...]) -> None:
    """A note row naming the programme and the filters, then the bold column header."""
    sheet.append([note])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=12)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(list(header))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"


def _now_text() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")


def _time_text(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""
