"""Excel exports of a list page (企业管理, 办件查询, 操作日志): the rows the page's filters select,
within the viewer's data scope, as one sheet.

The sheet says what it holds before the first row (title, the filters in words, who exported
it and when, how many rows), so a file that travels alone still tells where it came from.
``MAX_ROWS`` bounds the file: a larger selection is refused before any row is read, with a
message asking for narrower filters. Cells go through ``spreadsheets.workbook_bytes`` (no
text becomes a formula). Each app's service records the export in the operation log with
``record_export``, in the request that sends the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Model
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from . import audit
from .errors import ValidationFailed
from .spreadsheets import workbook_bytes

MAX_ROWS = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY = "#,##0.00"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
HEAD_FILL = PatternFill("solid", fgColor="DCE6F4")
NOTE_ROWS = 3  # title, filters, who/when/how many; then a blank row and the header


@dataclass(frozen=True)
class Column:
    title: str
    width: int = 14
    number_format: str = ""  # MONEY, DATE, DATETIME or an Excel format of one's own


def check_size(count: int, noun: str) -> None:
    """Refuse a selection larger than ``MAX_ROWS`` (``noun``: 企业, 办件, 操作日志)."""
    if count > MAX_ROWS:
        message = (
            f"符合条件的{noun}共 {count:,} 条，超过单次导出上限 {MAX_ROWS:,} 条，"
            "请缩小查询条件后分批导出"
        )
        raise ValidationFailed(message, details={"export": [message]})


def filter_values(form: forms.Form) -> dict[str, str]:
    """The filters a (validated) list form applied, by their labels, as the page shows them:
    ``{"状态": "审核中", "提交日期自": "2026-03-02"}``. Invalid fields applied nothing."""
    form.is_valid()
    shown = {}
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", [], ()):
            continue
        shown[str(field.label or name)] = _shown(field, value)
    return shown


def _shown(field: forms.Field, value: Any) -> str:
    if isinstance(field, forms.ModelChoiceField):
        return str(value)
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def filters_text(filters: dict[str, str]) -> str:
    return "；".join(f"{label}：{value}" for label, value in filters.items()) or "全部"


def table_workbook(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    count: int,
    filters: dict[str, str],
    actor: Any,
) -> bytes:
    """One sheet: what it holds, then the header and the rows (``count`` of them)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    who = getattr(actor, "real_name", "") or getattr(actor, "username", "")
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    sheet.append([title])
    sheet.append([f"查询条件：{filters_text(filters)}"])
    sheet.append([f"导出人：{who}　导出时间：{now}（北京时间）　共 {count:,} 条"])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append([column.title for column in columns])
    head = NOTE_ROWS + 2
    for cell in sheet[head]:
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    formats = [(i, c.number_format) for i, c in enumerate(columns, start=1) if c.number_format]
    for row in rows:
        sheet.append(list(row))
        for index, number_format in formats:
            sheet.cell(row=sheet.max_row, column=index).number_format = number_format
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = sheet.cell(row=head + 1, column=1)
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A{head}:{last}{max(sheet.max_row, head)}"
    return workbook_bytes(book)


def record_export(actor: Any, model: type[Model], filters: dict[str, str], count: int) -> None:
    """The export in the operation log: what was exported, under which filters, how much."""
    meta = model._meta
    audit.record(
        f"{meta.model_name}.export",
        actor=actor,
        object_type=meta.label_lower,
        object_repr=f"{meta.verbose_name} {count} 条",
        after={"filters": filters, "rows": count},
    )


def file_name(title: str) -> str:
    """``企业名录-20260302-1430.xlsx``: the title and the local time of the export."""
    return f"{title}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
