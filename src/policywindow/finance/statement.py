"""Reading a bank's / treasury's payment statement (.xlsx) into rows, or refusing the file.

The header row is found among the first rows by its column names (the treasury's and the
banks' spellings alike); every data row must parse, otherwise the whole file is refused with
the line numbers of the problems — a statement is never half read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import IO, Any

from policywindow.core.errors import ValidationFailed
from policywindow.core.money import MoneyError, parse_yuan
from policywindow.core.spreadsheets import Messages, SheetLimits, check_workbook, open_sheet

MAX_ROWS = 2000
MAX_MB = 5
HEADER_SEARCH = 10
# Title lines above the header, the header, a total line and blank lines besides the payments.
SHEET_LIMITS = SheetLimits(max_bytes=MAX_MB * 1024 * 1024, max_rows=MAX_ROWS + 100)
UNREADABLE = "无法读取该文件：请上传 Excel 2007 及以上格式（.xlsx）的拨付回单"
MESSAGES = Messages(not_workbook=UNREADABLE, damaged=UNREADABLE)
MAX_PROBLEMS = 20
# field -> the column names that mean it
COLUMNS: dict[str, tuple[str, ...]] = {
    "form_number": ("审批表编号", "经费审批表编号"),
    "credit_code": ("统一社会信用代码", "收款单位统一社会信用代码", "信用代码"),
    "payee": ("收款单位", "收款人", "收款人名称", "收款单位名称"),
    "amount": ("金额", "支付金额", "拨付金额", "金额（元）", "金额(元)"),
    "paid_on": ("支付日期", "拨付日期", "交易日期"),
    "voucher": ("凭证号", "支付凭证号", "凭证编号"),
    "bank_reference": ("银行流水号", "交易流水号", "流水号"),
}
REQUIRED = ("amount", "paid_on", "voucher")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


@dataclass(frozen=True)
class StatementRow:
    line: int
    form_number: str
    credit_code: str
    payee: str
    amount: str  # two decimals, as text: the JSON column keeps money exact
    paid_on: str  # ISO date
    voucher: str
    bank_reference: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatementRow:
        return cls(**data)


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"file": [message]})


def check_statement(upload: IO[bytes]) -> None:
    """Size, unpacked size and sheet dimensions of a statement, before anything is read."""
    check_workbook(upload, SHEET_LIMITS, MESSAGES)


def read_statement(data: bytes) -> list[StatementRow]:
    """Every payment row of the first worksheet; ``ValidationFailed`` (field ``file``) else."""
    with open_sheet(data, SHEET_LIMITS, MESSAGES) as sheet:
        lines = list(sheet.rows())
    header_at, columns = _header(lines)
    rows, problems = [], []
    for index, values in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if all(_text(v) == "" for v in values):
            continue
        try:
            rows.append(_row(index, values, columns))
        except ValueError as exc:
            problems.append(f"第 {index} 行：{exc}")
    if problems:
        shown = "；".join(problems[:MAX_PROBLEMS])
        more = f"；另有 {len(problems) - MAX_PROBLEMS} 处" if len(problems) > MAX_PROBLEMS else ""
        raise refuse(f"文件有 {len(problems)} 处错误，未导入任何一行：{shown}{more}")
    if not rows:
        raise refuse("文件中没有拨付数据行")
    if len(rows) > MAX_ROWS:
        raise refuse(f"一个文件最多 {MAX_ROWS} 行，本文件有 {len(rows)} 行，请分批导入")
    return rows


def _header(lines: list[tuple]) -> tuple[int, dict[str, int]]:
    for at, values in enumerate(lines[:HEADER_SEARCH]):
        names = [_text(v).replace(" ", "") for v in values]
        columns = {
            field: names.index(name)
            for field, aliases in COLUMNS.items()
            for name in aliases
            if name in names
        }
        if "form_number" in columns or "credit_code" in columns:
            missing = [COLUMNS[f][0] for f in REQUIRED if f not in columns]
            if missing:
                raise refuse(f"第 {at + 1} 行表头缺少列：{'、'.join(missing)}")
            return at, columns
    raise refuse(
        f"前 {HEADER_SEARCH} 行中没有找到表头：须有“审批表编号”或“统一社会信用代码”列，"
        "以及“金额”“支付日期”“凭证号”列"
    )


def _row(line: int, values: tuple, columns: dict[str, int]) -> StatementRow:
    def cell(field: str) -> Any:
        at = columns.get(field)
        return values[at] if at is not None and at < len(values) else None

    form_number, credit_code = _text(cell("form_number")), _text(cell("credit_code")).upper()
    if not form_number and not credit_code:
        raise ValueError("审批表编号和统一社会信用代码都为空")
    voucher = _text(cell("voucher"))
    if not voucher:
        raise ValueError("凭证号为空")
    return StatementRow(
        line=line,
        form_number=form_number,
        credit_code=credit_code,
        payee=_text(cell("payee")),
        amount=str(_amount(cell("amount"))),
        paid_on=_date(cell("paid_on")).isoformat(),
        voucher=voucher,
        bank_reference=_text(cell("bank_reference")),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _amount(value: Any) -> Decimal:
    # Excel keeps numbers as binary floats; their shortest text is the figure that was typed.
    shown = _text(value)
    try:
        amount = parse_yuan(shown.removesuffix("元"), f"金额“{shown}”")
    except MoneyError as exc:
        if exc.code == "invalid":
            raise ValueError(f"金额“{shown}”不是有效的数字") from None
        raise
    if amount <= 0:
        raise ValueError(f"金额“{shown}”须大于 0")
    return amount


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = re.sub(r"\s.*$", "", _text(value))  # "2026-11-20 00:00:00" -> the day
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"支付日期“{_text(value)}”无法识别，请使用 2026-11-20 这样的日期")
