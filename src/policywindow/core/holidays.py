"""A year of the holiday table, read from what the administrator has in hand: the State
Council's annual notice (国务院办公厅关于某年部分节假日安排的通知) pasted as text, or the
import template (Excel or CSV, one row per holiday or 调休 working day).

Both give a ``YearPlan``: the holidays and make-up working days of one year; every other date
follows the weekend. Reading is strict, because a wrong table moves every deadline: a weekday
written in the notice is checked against the calendar (a wrong year or a typo shows), the
days of a range against its "共N天", and a line that names dates but cannot be read is an
error, never skipped. Errors name the item or row, in Chinese; one error refuses the whole
year (``ValidationFailed`` on the ``text`` or ``file`` field).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import calendar
from .calendar import by_weekend
from .errors import ValidationFailed
from .spreadsheets import Messages, SheetLimits, open_sheet, workbook_bytes

WEEKDAY_NAMES = "一二三四五六日"
NOTE_MAX = 64  # CalendarDay.note


@dataclass(frozen=True)
class PlannedDay:
    date: dt.date
    is_working_day: bool
    note: str


@dataclass
class YearPlan:
    """One year's arrangement: the dates that differ from the weekend rule or carry a name."""

    year: int
    special: dict[dt.date, PlannedDay]
    source: str  # how it was read, for the audit log and the preview
    ignored: list[str] = field(default_factory=list)  # text lines not read as arrangements

    def days(self) -> list[PlannedDay]:
        """Every date of the year: as planned, or by the weekend."""
        day, found = dt.date(self.year, 1, 1), []
        while day.year == self.year:
            found.append(self.special.get(day) or PlannedDay(day, by_weekend(day), ""))
            day += dt.timedelta(days=1)
        return found

    @property
    def holidays(self) -> int:
        return sum(not d.is_working_day for d in self.special.values())

    @property
    def makeup_days(self) -> int:
        return sum(d.is_working_day and not by_weekend(d.date) for d in self.special.values())


@dataclass(frozen=True)
class DayChange:
    """A date the plan changes: (kind, words) before and after, as ``calendar.describe``."""

    date: dt.date
    before: tuple[str, str]
    after: tuple[str, str]

    @property
    def weekday(self) -> str:
        return f"周{WEEKDAY_NAMES[self.date.weekday()]}"

    @property
    def named(self) -> bool:
        """A holiday or 调休 day, or a maintained date that changes: listed one by one in the
        preview; plain dates newly added by the weekend are counted."""
        return self.after[0] in {"holiday", "makeup"} or self.before[0] != "missing"


def changes(plan: YearPlan) -> list[DayChange]:
    """Every date whose kind or words the plan would change in the table."""
    rows = calendar.year_rows(plan.year)
    found = []
    for day in plan.days():
        row = rows.get(day.date)
        before = calendar.describe(
            day.date, row.is_working_day if row else None, row.note if row else ""
        )
        after = calendar.describe(day.date, day.is_working_day, day.note)
        if before != after:
            found.append(DayChange(day.date, before, after))
    return found


def refuse(target: str, problems: list[str], summary: str) -> ValidationFailed:
    return ValidationFailed(summary, details={target: problems})


# ---------------------------------------------------------------- the State Council's notice

_TITLE_YEAR = re.compile(r"关于\s*(\d{4})\s*年\s*(?:部分)?节假日安排")
_PREAMBLE_YEAR = re.compile(r"现将\s*(\d{4})\s*年")
_ITEM = re.compile(r"^([一二三四五六七八九十]+)、([^:]{1,30}):(.*)$")
_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\(([^)]*)\))?")
_ANY_DATE = re.compile(r"\d{1,2}月\d{1,2}日")
_SIGNED_ON = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
_WEEKDAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
_COUNT = re.compile(r"共(\d+)天|放假(\d+)天")
_RANGE = re.compile(r"至|~|-|—")
# Clauses that state no dates of their own ("放假调休，共3天。" is read with its dates).
_QUIET = re.compile(r"^(不调休|调休|与周末连休|放假调休|放假)$")


@dataclass
class _Item:
    label: str  # "二、春节" as the notice numbers it
    name: str
    body: str


def parse_notice(text: str, year: int | None = None) -> YearPlan:
    """The holidays and 调休 working days of the pasted notice. ``year`` (the form's field) is
    needed when the text lacks its title and must agree with the title when both are given."""
    lines = [line.strip() for line in text.splitlines()]
    plain = [_plain(line) for line in lines]
    problems: list[str] = []
    year = _notice_year(plain, year, problems)
    items, ignored = _items(lines, plain, problems)
    if not items and not problems:
        problems.append(
            "未找到放假安排。请粘贴通知正文中的各项安排，如“一、元旦：1月1日（周五）至3日（周日）"
            "放假调休，共3天。”"
        )
    special: dict[dt.date, PlannedDay] = {}
    if year is not None:
        for item in items:
            _read_item(item, year, special, problems)
    if problems:
        raise refuse("text", problems, "通知内容有误，未导入任何日期")
    return YearPlan(year, special, "国务院办公厅放假安排通知", ignored)


def _plain(line: str) -> str:
    """Full-width brackets, colons, commas and digits as ASCII; no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", line))


def _notice_year(plain: list[str], given: int | None, problems: list[str]) -> int | None:
    found = next((int(m[1]) for line in plain if (m := _TITLE_YEAR.search(line))), None)
    found = found or next((int(m[1]) for line in plain if (m := _PREAMBLE_YEAR.search(line))), None)
    if found and given and found != given:
        problems.append(f"通知标题为 {found} 年，与所填年份 {given} 年不一致，请核对")
        return None
    if not (found or given):
        problems.append("未能从通知标题中读出年份，请填写年份或粘贴含标题的通知全文")
        return None
    return found or given


def _items(
    lines: list[str], plain: list[str], problems: list[str]
) -> tuple[list[_Item], list[str]]:
    """The numbered items (a line with dates right below an item goes on with it, as a pasted
    line break does) and the other lines, which the preview shows as not read."""
    items: list[_Item] = []
    ignored: list[str] = []
    in_item = False
    for number, (line, text) in enumerate(zip(lines, plain, strict=True), start=1):
        if not text:
            continue
        if match := _ITEM.match(text):
            items.append(_Item(f"{match[1]}、{match[2]}", match[2], match[3]))
            in_item = True
        elif _SIGNED_ON.match(text) or not _ANY_DATE.search(text):
            ignored.append(line)  # the title, the preamble, the closing words, the signing date
            in_item = False
        elif in_item:
            items[-1].body += text
        else:
            problems.append(f"第 {number} 行“{line}”含有日期，但不是编号的放假安排，无法识别")
    return items, ignored


def _read_item(
    item: _Item, year: int, special: dict[dt.date, PlannedDay], problems: list[str]
) -> None:
    before = len(problems)
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []
    for sentence in filter(None, re.split(r"[。;]", item.body)):
        for clause in _clauses(sentence):
            if "上班" in clause:
                workdays += _dates(clause.split("上班")[0], item, year, problems, listed=True)
            elif "放假" in clause or "补休" in clause:
                head = re.split(r"放假|补休", clause)[0]
                holidays += _dates(head, item, year, problems, listed=False)
                _check_count(clause, holidays, item, problems)
            elif re.fullmatch(r"共\d+天", clause):
                _check_count(clause, holidays, item, problems)
            elif not _QUIET.match(clause):
                problems.append(f"{item.label}：无法识别“{clause}”")
    if len(problems) > before:
        return
    if not holidays:
        problems.append(f"{item.label}：没有读到放假日期")
    for day in holidays:
        _plan(special, PlannedDay(day, False, item.name[:NOTE_MAX]), item, problems)
    for day in workdays:
        if by_weekend(day):
            problems.append(
                f"{item.label}：{_cn(day)}是周{WEEKDAY_NAMES[day.weekday()]}，本就是工作日，"
                "不应列为调休上班，请核对"
            )
            continue
        _plan(special, PlannedDay(day, True, f"{item.name}调休上班"[:NOTE_MAX]), item, problems)


def _clauses(sentence: str) -> list[str]:
    """The comma-separated clauses of a sentence, commas inside brackets kept."""
    found, depth, current = [], 0, ""
    for char in sentence:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            found.append(current)
            current = ""
        else:
            current += char
    return [clause for clause in [*found, current] if clause]


def _dates(
    text: str, item: _Item, year: int, problems: list[str], *, listed: bool
) -> list[dt.date]:
    """The dates of ``text``: one, a range "A至B", or (``listed``) a list "A、B"."""
    parts = re.split(r"、(?![^(]*\))", text) if listed else [text]
    found: list[dt.date] = []
    month = None
    for part in parts:
        ends = _RANGE.split(part) if not listed else [part]
        if len(ends) > 2 or not all(ends):
            problems.append(f"{item.label}：无法识别日期“{part}”")
            return []
        days = []
        for end in ends:
            day, month = _date(end, item, year, month, problems)
            if day is None:
                return []
            days.append(day)
        if len(days) == 2:
            if days[1] < days[0]:
                problems.append(f"{item.label}：{_cn(days[0])}至{_cn(days[1])}起止颠倒")
                return []
            found += [days[0] + dt.timedelta(days=n) for n in range((days[1] - days[0]).days + 1)]
        else:
            found += days
    return found


def _date(
    text: str, item: _Item, year: int, month: int | None, problems: list[str]
) -> tuple[dt.date | None, int | None]:
    match = _DATE.fullmatch(text)
    if match is None:
        problems.append(f"{item.label}：无法识别日期“{text}”")
        return None, month
    written_year, month_text, day_text, remark = match.groups()
    month = int(month_text) if month_text else month
    if month is None:
        problems.append(f"{item.label}：日期“{text}”缺少月份")
        return None, month
    when = int(written_year) if written_year else year
    try:
        day = dt.date(when, month, int(day_text))
    except ValueError:
        problems.append(f"{item.label}：{when}年没有{month}月{day_text}日")
        return None, month
    if day.year != year:
        problems.append(f"{item.label}：{_cn(day)}不在 {year} 年，每次只导入一年")
        return None, month
    weekday = _WEEKDAY.search(remark or "")
    if weekday:
        written = "日" if weekday[1] == "天" else weekday[1]
        actual = WEEKDAY_NAMES[day.weekday()]
        if written != actual:
            problems.append(
                f"{item.label}：{_cn(day)}写作周{written}，但 {year} 年的这一天是周{actual}，"
                "请核对年份或日期"
            )
            return None, month
    return day, month


def _check_count(clause: str, holidays: list[dt.date], item: _Item, problems: list[str]) -> None:
    match = _COUNT.search(clause)
    if match is None:
        return
    stated = int(match[1] or match[2])
    if stated != len(holidays):
        days = "、".join(_cn(d) for d in holidays) or "无"
        problems.append(
            f"{item.label}：写明放假 {stated} 天，但读到的放假日期是 {len(holidays)} 天（{days}）"
        )


def _plan(
    special: dict[dt.date, PlannedDay], day: PlannedDay, item: _Item, problems: list[str]
) -> None:
    if day.date in special:
        problems.append(f"{item.label}：{_cn(day.date)}已在前面的安排中出现")
        return
    special[day.date] = day


def _cn(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


# ---------------------------------------------------------------- the import template

TEMPLATE_HEADER = ("日期", "安排", "节日名称")
TEMPLATE_SHEET = "节假日安排"
TEMPLATE_HELP = (
    "每行一个日期：放假的日期（含放假期间的周末）填“放假”，调休上班的周末填“上班”。",
    "“节日名称”填写节日，如“春节”；调休上班可写“春节调休上班”。",
    "未列出的日期按周一至周五上班、周六周日休息导入。",
    "导入前会逐日预览将要改动的日期，确认后整年一次写入；任何一行有误则整份文件不导入。",
    "也可另存为 CSV（UTF-8 或 GBK 编码），表头与本模板相同。",
    "示例：2027-01-01 | 放假 | 元旦",
)
ARRANGEMENTS = {
    "放假": False,
    "休息": False,
    "休": False,
    "上班": True,
    "班": True,
    "调休上班": True,
}
TABLE_LIMITS = SheetLimits(max_bytes=512 * 1024, max_rows=400, max_columns=10)
TABLE_MESSAGES = Messages(
    not_workbook="文件不是 Excel 工作簿（.xlsx）或 CSV 文件，请使用下载的导入模板",
    damaged="Excel 文件已损坏或无法读取，请用导入模板重新填写后上传",
)
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def template_workbook(year: int) -> bytes:
    """The import template: the header row with a drop-down for 安排, and how to fill it in."""
    book = Workbook()
    sheet = book.active
    sheet.title = TEMPLATE_SHEET
    for column, (title, width) in enumerate(zip(TEMPLATE_HEADER, (14, 10, 24), strict=True), 1):
        cell = sheet.cell(row=1, column=column, value=title)
        cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.column_dimensions["A"].number_format = "yyyy-mm-dd"
    choices = DataValidation(type="list", formula1='"放假,上班"', allow_blank=False)
    choices.error, choices.errorTitle = "请填写“放假”或“上班”", "安排"
    sheet.add_data_validation(choices)
    choices.add(f"B2:B{TABLE_LIMITS.max_rows}")
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 90
    notes.append([f"{year} 年节假日导入模板"])
    for line in TEMPLATE_HELP:
        notes.append([line])
    return workbook_bytes(book)


def parse_table(name: str, content: bytes, year: int) -> YearPlan:
    """The template's rows (Excel .xlsx or CSV): a date, 放假 or 上班, and the festival."""
    rows = _csv_rows(content) if name.lower().endswith(".csv") else _sheet_rows(content)
    header, *body = rows or [()]
    columns = _columns(header)
    problems: list[str] = []
    special: dict[dt.date, PlannedDay] = {}
    seen_rows = 0
    for number, values in enumerate(body, start=2):
        if all(_text(v) == "" for v in values):
            continue
        seen_rows += 1
        day = _row(number, values, columns, year, problems)
        if day is None:
            continue
        if day.date in special:
            problems.append(f"第 {number} 行：日期 {day.date} 与前面的行重复")
            continue
        special[day.date] = day
    if not seen_rows and not problems:
        problems.append("模板中没有填写任何日期，请在“日期”“安排”两列逐行填写放假和调休上班日期")
    if problems:
        raise refuse("file", problems, "导入文件有误，未导入任何日期")
    return YearPlan(year, special, f"导入模板（{name}）")


def _csv_rows(content: bytes) -> list[tuple[Any, ...]]:
    if len(content) > TABLE_LIMITS.max_bytes:
        raise refuse(
            "file",
            [f"文件超过 {TABLE_LIMITS.max_bytes // 1024} KB，节假日模板不会这么大，请核对文件"],
            "导入文件过大",
        )
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise refuse("file", ["CSV 文件编码无法识别，请另存为 UTF-8 编码"], "导入文件有误")
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > TABLE_LIMITS.max_rows:
        raise refuse("file", [f"文件超过 {TABLE_LIMITS.max_rows} 行，请核对文件"], "导入文件过大")
    return [tuple(row[: TABLE_LIMITS.max_columns]) for row in rows]


def _sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    with open_sheet(content, TABLE_LIMITS, TABLE_MESSAGES, title=TEMPLATE_SHEET) as sheet:
        return list(sheet.rows())


def _columns(header: tuple[Any, ...]) -> dict[str, int]:
    names = [_text(v) for v in header]
    missing = [name for name in TEMPLATE_HEADER[:2] if name not in names]
    if missing:
        problems = [
            f"第 1 行应为表头“{'”“'.join(TEMPLATE_HEADER)}”，缺少“{'”“'.join(missing)}”列；"
            "请使用下载的导入模板"
        ]
        raise refuse("file", problems, "导入文件有误，未导入任何日期")
    return {name: names.index(name) for name in TEMPLATE_HEADER if name in names}


def _row(
    number: int, values: tuple[Any, ...], columns: dict[str, int], year: int, problems: list[str]
) -> PlannedDay | None:
    def cell(name: str) -> Any:
        index = columns.get(name)
        return values[index] if index is not None and index < len(values) else None

    day = _cell_date(cell("日期"))
    arrangement = _text(cell("安排"))
    note = _text(cell("节日名称"))
    if day is None:
        problems.append(
            f"第 {number} 行：日期“{_text(cell('日期'))}”无效，请写成 {year}-01-01 的格式"
        )
    elif day.year != year:
        problems.append(f"第 {number} 行：日期 {day} 不在 {year} 年，每次只导入一年")
    if arrangement not in ARRANGEMENTS:
        problems.append(f"第 {number} 行：安排“{arrangement}”无效，请填写“放假”或“上班”")
    if len(note) > NOTE_MAX:
        problems.append(f"第 {number} 行：节日名称不能超过 {NOTE_MAX} 个字")
    if day is None or day.year != year or arrangement not in ARRANGEMENTS or len(note) > NOTE_MAX:
        return None
    return PlannedDay(day, ARRANGEMENTS[arrangement], note)


def _cell_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _DATE_TEXT.fullmatch(_text(value))
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
