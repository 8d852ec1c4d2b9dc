"""The data board as an Excel workbook: one sheet per table, the filters on the first sheet.

Amounts are written as numbers in yuan with two decimals (``#,##0.00``), rates as numbers
in percent, so the bureau can sum and chart them in Excel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from policywindow.core.spreadsheets import workbook_bytes

from .selectors import STAGES, Board, Tally, total_of

MONEY = "#,##0.00"
HEAD_FILL = PatternFill("solid", fgColor="DCE6F4")
TOTAL_FONT = Font(bold=True)
STAGE_HEADERS = tuple(stage.label for stage in STAGES)
TALLY_HEADERS = ("申报件数", *STAGE_HEADERS, "通过率（%）", "核定金额（元）", "已拨付金额（元）")


def workbook(board: Board, user: Any) -> bytes:
    book = Workbook()
    _overview(book.active, board, user)
    _status_sheet(book.create_sheet("按状态"), board)
    for title, first, rows in (
        ("按政策细则", "政策细则", board.by_rule),
        ("按部门", "牵头部门", board.by_department),
        ("按地市", "地市", board.by_city),
        ("按月份", "月份", board.by_month),
    ):
        _tally_sheet(book.create_sheet(title), first, rows)
    _budget_sheet(book.create_sheet("预算执行"), board)
    _timeliness_sheet(book.create_sheet("办理时效"), board)
    _open_sheet(book.create_sheet("在办最久案件"), board)
    return workbook_bytes(book)


def filter_lines(board: Board, user: Any) -> list[tuple[str, str]]:
    """What the figures cover, written above the first table."""
    period = board.period
    return [
        ("统计期间", f"{period.start:%Y-%m-%d} 至 {period.end:%Y-%m-%d}（申报提交日期，北京时间）"),
        ("数据范围", board.scope_label),
        ("导出人", user.real_name or user.username),
        ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")),
    ]


def _overview(sheet: Worksheet, board: Board, user: Any) -> None:
    sheet.title = "概览"
    sheet.append(["政策兑现数据看板"])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    for label, value in filter_lines(board, user):
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = TOTAL_FONT
    sheet.append([])
    total, timely = board.total, board.timeliness_total
    rows: list[Sequence[Any]] = [
        ("申报件数", total.total),
        *((f"其中：{stage.label}", total.stages[stage.key]) for stage in STAGES),
        ("通过率（%）", total.approval_rate),
        ("核定金额（元）", total.approved_amount),
        ("已拨付金额（元）", total.paid_amount),
        ("年度预算（元）", board.budget_total),
        ("预算已核定（元）", board.budget_committed),
        ("预算已拨付（元）", board.budget_disbursed),
        ("应办结件数", timely.total),
        ("其中超期未办结", timely.open_overdue),
        ("一周办结按期率（%）", timely.rate),
        ("平均办理时长（天）", timely.avg_days),
    ]
    _table(sheet, ("指标", "数值"), rows, (28, 60))
    for cells in sheet.iter_rows(min_row=sheet.max_row - len(rows) + 1, max_col=2):
        label, value = cells
        if "（元）" in str(label.value):
            value.number_format = MONEY


def _status_sheet(sheet: Worksheet, board: Board) -> None:
    stage_label = {stage.key: stage.label for stage in STAGES}
    rows = [
        (row.label, stage_label[row.stage], row.count, row.approved_amount)
        for row in board.by_status
    ]
    total = board.total
    rows.append(("合计", "", total.total, total.approved_amount))
    _table(sheet, ("状态", "阶段", "申报件数", "核定金额（元）"), rows, (16, 16, 12, 18), (4,))


def _tally_row(row: Tally) -> list[Any]:
    return [
        row.label,
        row.total,
        *row.stage_list,
        row.approval_rate,
        row.approved_amount,
        row.paid_amount,
    ]


def _tally_sheet(sheet: Worksheet, first: str, rows: list[Tally]) -> None:
    body = [_tally_row(row) for row in rows] + [_tally_row(total_of(rows))]
    widths = (30, 10, *(12 for _ in STAGES), 12, 18, 18)
    money = (len(TALLY_HEADERS), len(TALLY_HEADERS) + 1)
    _table(sheet, (first, *TALLY_HEADERS), body, widths, money)


def _budget_sheet(sheet: Worksheet, board: Board) -> None:
    rows = [
        (
            row.budget.year,
            row.label,
            row.budget.total,
            row.budget.committed,
            row.budget.disbursed,
            row.budget.left,
            row.committed_percent,
            row.disbursed_percent,
        )
        for row in board.budgets
    ]
    headers = (
        "预算年度",
        "政策细则",
        "年度预算（元）",
        "已核定（元）",
        "已拨付（元）",
        "剩余（元）",
        "核定占比（%）",
        "拨付占比（%）",
    )
    _table(sheet, headers, rows, (10, 36, 18, 18, 18, 18, 12, 12), (3, 4, 5, 6))


def _timeliness_sheet(sheet: Worksheet, board: Board) -> None:
    rows = [
        (row.label, row.total, row.on_time, row.open_overdue, row.rate, row.avg_days)
        for row in [*board.timeliness, board.timeliness_total]
    ]
    headers = (
        "牵头部门",
        "应办结件数",
        "按期办结",
        "超期未办结",
        "按期率（%）",
        "平均办理时长（天）",
    )
    _table(sheet, headers, rows, (30, 14, 12, 12, 12, 18))


def _open_sheet(sheet: Worksheet, board: Board) -> None:
    rows = [
        (
            item.application.number,
            item.application.enterprise.name,
            item.application.rule.current.title if item.application.rule.current_id else "",
            item.application.department.name,
            item.application.get_status_display(),
            timezone.localtime(item.application.submitted_at).strftime("%Y-%m-%d %H:%M"),
            item.days_open,
            item.due_on,
            item.mark.label if item.mark else "",
        )
        for item in board.oldest_open
    ]
    headers = (
        "申报编号",
        "企业名称",
        "政策细则",
        "牵头部门",
        "状态",
        "提交时间",
        "已历时（天）",
        "办结期限",
        "时限提示",
    )
    _table(sheet, headers, rows, (16, 34, 30, 20, 12, 18, 12, 12, 16), date_columns=(8,))


def _table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[int],
    money: Sequence[int] = (),
    date_columns: Sequence[int] = (),
) -> None:
    """A bold header row, then the rows; money and date columns formatted (1-based)."""
    sheet.append(list(headers))
    head = sheet.max_row
    for cell in sheet[head]:
        cell.font = TOTAL_FONT
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(list(row))
        for column in money:
            sheet.cell(row=sheet.max_row, column=column).number_format = MONEY
        for column in date_columns:
            sheet.cell(row=sheet.max_row, column=column).number_format = "yyyy-mm-dd"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=head + 1, column=1)
