"""The Excel side of importing enterprises: the template and reading a filled-in file.

Reading turns each row into the same form data a clerk would type, parsed by the
same ``EnterpriseForm``; the domain checks are then made by ``services``. Problems
are reported per row and column in Chinese.

The template and the reader share one column definition, ``columns()``: a column is required
exactly when the clerk's form requires its field. The template marks those with ``*`` (in red)
and 必填; the reader refuses a file without one of them and reads a missing optional column as
blank. The size indicators are optional columns that the row's industry may need (工业 is sized
by 从业人员 and 营业收入): the template says 划型指标, the row is refused without them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from policywindow.core.codes import INDICATOR_LABELS
from policywindow.core.errors import ValidationFailed
from policywindow.core.spreadsheets import Messages, SheetLimits, open_sheet, workbook_bytes

from .forms import EnterpriseForm
from .models import CLERK_EDITABLE_FIELDS, Enterprise, Industry, Region

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024
SHEET_TITLE = "企业信息"
# The sheet may hold the header, the hint row and some blank lines besides the enterprises.
SHEET_LIMITS = SheetLimits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + 100, max_columns=60)
MESSAGES = Messages(
    not_workbook="文件不是 Excel（.xlsx）格式，请使用下载的模板填写后上传",
    damaged="无法读取该 Excel 文件，文件可能已损坏，请使用下载的模板重新填写",
)
YES, NO = "是", "否"
BOOLEAN_FIELDS = ("high_tech", "tech_sme")
TEXT_FIELDS = ("credit_code", "bank_account", "contact_phone", "industry", "region")
SPECIALIZED_WORDS = {
    "": "",
    "无": "",
    "省级": Enterprise.Specialized.PROVINCIAL,
    "小巨人": Enterprise.Specialized.LITTLE_GIANT,
    **{label: value for value, label in Enterprise.Specialized.choices},
}
COLUMN_LABELS: dict[str, str] = {
    name: str(Enterprise._meta.get_field(name).verbose_name) for name in CLERK_EDITABLE_FIELDS
} | {"industry": "行业代码", "region": "行政区划代码"}
NOTES = {
    "credit_code": "18 位统一社会信用代码，请以文本格式填写",
    "registered_capital": "单位：万元",
    "established_on": "日期，如 2015-03-18",
    "industry": "GB/T 4754-2017 大类代码，如 39；见“行业代码”表",
    "region": "GB/T 2260 区划代码，如 210102；见“行政区划代码”表",
    "employees": "整数，留空表示未知",
    "revenue": "单位：元，留空表示未知",
    "total_assets": "单位：元，留空表示未知",
    "high_tech": "填“是”或“否”",
    "tech_sme": "填“是”或“否”",
    "specialized": "无 / 省级 / 小巨人",
}


@dataclass(frozen=True)
class ImportColumn:
    field: str
    label: str
    required: bool
    note: str

    @property
    def heading(self) -> str:
        """The template's header cell: the label, ``*`` when required."""
        return f"{self.label}*" if self.required else self.label

    @property
    def need(self) -> str:
        """必填, 划型指标 (needed as the industry's size standard says) or 选填."""
        if self.required:
            return "必填"
        if self.field in INDICATOR_LABELS:
            return "划型指标：按所属行业的划型标准须填写"
        return "选填（可留空，也可删除此列）"


@cache
def columns() -> tuple[ImportColumn, ...]:
    """The sheet's columns in order; required as the clerk's form requires the field."""
    fields = EnterpriseForm(choices=False).fields
    return tuple(
        ImportColumn(name, COLUMN_LABELS[name], fields[name].required, NOTES.get(name, ""))
        for name in CLERK_EDITABLE_FIELDS
    )


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str


class ImportRejected(ValidationFailed):
    """The file was refused as a whole; ``problems`` is the row-by-row report."""

    def __init__(self, problems: list[RowProblem]):
        super().__init__(
            f"导入失败：发现 {len(problems)} 处错误，未导入任何企业。请修改后重新上传。",
            details={"file": [f"第 {p.row} 行 {p.column}：{p.message}" for p in problems]},
        )
        self.problems = problems


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"file": [message]})


# ---------------------------------------------------------------- the template


def template_workbook() -> bytes:
    """The import template: the header row, hints, drop-downs and the code tables."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    _write_header(sheet)
    _add_validations(sheet)
    _write_codes(book.create_sheet("行业代码"), ("代码", "名称"), _industry_rows())
    _write_codes(book.create_sheet("行政区划代码"), ("代码", "名称"), _region_rows())
    return workbook_bytes(book)


def _write_header(sheet) -> None:
    fill = PatternFill("solid", fgColor="DCE6F4")
    for index, column in enumerate(columns(), start=1):
        cell = sheet.cell(row=1, column=index, value=column.heading)
        cell.font = Font(bold=True, color="C8161D" if column.required else "1F2D3D")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        hint = sheet.cell(row=2, column=index, value=_hint(column))
        hint.font = Font(italic=True, color="808080", size=9)
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.heading) * 2 + 4)
        if column.field in TEXT_FIELDS:
            sheet.column_dimensions[letter].number_format = "@"  # typed codes stay text
    sheet.freeze_panes = "A3"


def _hint(column: ImportColumn) -> str:
    """Row 2 of the template: whether the column is needed, then how to fill it in."""
    return f"{column.need}；{column.note}" if column.note else column.need


def _add_validations(sheet) -> None:
    letters = {c.field: get_column_letter(i) for i, c in enumerate(columns(), start=1)}
    last = MAX_ROWS + 2
    for field, options in [
        *((f, f'"{YES},{NO}"') for f in BOOLEAN_FIELDS),
        ("specialized", '"无,省级,小巨人"'),
    ]:
        validation = DataValidation(type="list", formula1=options, allow_blank=True)
        validation.add(f"{letters[field]}3:{letters[field]}{last}")
        sheet.add_data_validation(validation)


def _write_codes(sheet, header: tuple[str, str], rows: list[tuple[str, str]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 48


def _industry_rows() -> list[tuple[str, str]]:
    rows = Industry.objects.exclude(level=Industry.Level.SECTION).order_by("code")
    return [(row.code, row.name) for row in rows]


def _region_rows() -> list[tuple[str, str]]:
    rows = Region.objects.exclude(level=Region.Level.PROVINCE).select_related("parent")
    return [
        (r.code, r.name if r.level == Region.Level.CITY else f"{r.parent.name} {r.name}")
        for r in rows.order_by("code")
    ]


# ---------------------------------------------------------------- reading a filled-in file


@dataclass
class ParsedRow:
    """One row: the values that parsed (as the clerk's form would clean them) and the
    fields that did not, with their problems."""

    number: int
    data: dict[str, Any]
    problems: list[RowProblem]

    @property
    def failed_fields(self) -> set[str]:
        labels = {p.column for p in self.problems}
        return {field for field, label in COLUMN_LABELS.items() if label in labels}


def read_workbook(upload) -> list[ParsedRow]:
    """Every filled-in row of the file, parsed.

    A file that cannot be read at all, or is larger than ``SHEET_LIMITS``, raises
    ``ValidationFailed`` on the ``file`` field before any cell is read.
    """
    with open_sheet(upload, SHEET_LIMITS, MESSAGES, title=SHEET_TITLE) as sheet:
        rows = sheet.rows()
        positions = _columns(next(rows, ()))
        parsed: list[ParsedRow] = []
        for number, values in enumerate(rows, start=2):
            cells = {f: values[i] if i < len(values) else None for f, i in positions.items()}
            if _is_blank(cells) or _is_hint_row(cells):
                continue
            if len(parsed) == MAX_ROWS:
                raise _file_error(f"一次最多导入 {MAX_ROWS} 家企业，请拆分文件后分批导入")
            parsed.append(parse_row(number, cells))
    if not parsed:
        raise _file_error("文件中没有企业数据，请从第 3 行起逐行填写")
    return parsed


def _columns(header: tuple) -> dict[str, int]:
    """Where each column of the file is; a missing optional column is read as blank."""
    by_label = {column.label: column.field for column in columns()}
    found: dict[str, int] = {}
    unknown = []
    for index, value in enumerate(header):
        label = str(value or "").strip().rstrip("*").strip()
        if not label:
            continue
        if label in by_label:
            found[by_label[label]] = index
        else:
            unknown.append(label)
    missing = [c.label for c in columns() if c.required and c.field not in found]
    if missing or unknown:
        parts = [f"缺少必填列：{'、'.join(missing)}" if missing else ""]
        parts.append(f"无法识别的列：{'、'.join(unknown)}" if unknown else "")
        reason = "；".join(p for p in parts if p)
        raise _file_error(f"第 1 行表头与模板不一致（{reason}），请使用下载的模板")
    return found


def _is_blank(cells: dict[str, Any]) -> bool:
    return all(value is None or str(value).strip() == "" for value in cells.values())


def _is_hint_row(cells: dict[str, Any]) -> bool:
    """Row 2 of the template (this one's, or an older one's without 必填/选填)."""
    return NOTES["credit_code"] in str(cells.get("credit_code") or "")


def parse_row(number: int, cells: dict[str, Any]) -> ParsedRow:
    """One row through the clerk's form."""
    problems: list[RowProblem] = []
    data: dict[str, Any] = {}
    for field, value in cells.items():
        try:
            data[field] = _cell_text(field, value)
        except ValueError as exc:
            problems.append(RowProblem(number, COLUMN_LABELS[field], str(exc)))
    form = EnterpriseForm(
        data={k: v for k, v in data.items() if v not in (False, None)}, choices=False
    )
    form.is_valid()
    problems += [
        RowProblem(number, COLUMN_LABELS.get(field, "整行"), message)
        for field, messages in form.errors.items()
        if field in data or field not in cells  # an unreadable cell has its own message
        for message in messages
    ]
    return ParsedRow(number, form.cleaned_data, problems)


def _cell_text(field: str, value: Any) -> str | bool:
    """A cell as the text a person would have typed into the form."""
    if field == "credit_code" and isinstance(value, int | float):
        raise ValueError("请以文本格式填写（数字格式会丢失位数），可在数字前加英文单引号")
    if field in BOOLEAN_FIELDS:
        return _yes_no(value)
    if field == "specialized":
        return _specialized(value)
    text = _plain(value)
    if field == "industry" and text.isdigit() and len(text) == 1:
        text = "0" + text  # 05 typed as a number loses its leading zero
    return text


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value).strip()


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _plain(value)
    if text in ("", NO):
        return False
    if text == YES:
        return True
    raise ValueError(f"请填写“{YES}”或“{NO}”，不能填写“{text}”")


def _specialized(value: Any) -> str:
    text = _plain(value)
    if text in SPECIALIZED_WORDS:
        return SPECIALIZED_WORDS[text]
    raise ValueError(f"请填写“无”“省级”或“小巨人”，不能填写“{text}”")
