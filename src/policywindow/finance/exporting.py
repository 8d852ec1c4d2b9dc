"""Files for the finance side: payment instructions (支付指令) as CSV and JSON rows, and the
reconciliation report of an imported statement as an Excel workbook.

Payment instructions carry the full bank account: they are what the finance system pays
from, served only to finance officers and the policy office, and every export is audited.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from policywindow.core.spreadsheets import csv_bytes, workbook_bytes
from policywindow.fundforms.models import FormBatch

from .services.payment_imports import Outcome, Reconciliation

INSTRUCTION_COLUMNS = (
    ("form_number", "审批表编号"),
    ("enterprise", "收款单位"),
    ("credit_code", "统一社会信用代码"),
    ("bank_name", "开户银行"),
    ("account", "银行账号"),
    ("amount", "金额（元）"),
    ("purpose", "用途"),
)
REPORT_COLUMNS = (
    ("行号", 8),
    ("审批表编号", 22),
    ("统一社会信用代码", 22),
    ("收款单位", 32),
    ("金额（元）", 16),
    ("支付日期", 12),
    ("凭证号", 20),
    ("核对结果", 12),
    ("说明", 60),
)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F4")
OUTCOME_FILLS = {
    Outcome.MATCHED: "E2F0D9",
    Outcome.RECORDED: "E2F0D9",
    Outcome.AMOUNT_DIFFERS: "FCE4D6",
    Outcome.ALREADY_PAID: "FFF2CC",
    Outcome.DUPLICATE: "FFF2CC",
    Outcome.UNMATCHED: "F8CBAD",
}


def payment_instructions(batch: FormBatch) -> list[dict[str, Any]]:
    """One instruction per form of the batch, in form order, from the forms' frozen content."""
    rows = []
    for form in batch.forms.order_by("sequence"):
        content = form.content
        enterprise = content["enterprise"]
        rows.append(
            {
                "form_number": form.number,
                "enterprise": enterprise["name"],
                "credit_code": enterprise["credit_code"],
                "bank_name": enterprise["bank_name"],
                "account": enterprise["bank_account"],
                "amount": f"{form.approved_amount:.2f}",
                "purpose": f"{content['rule']['title']}政策兑现资金（审批表 {form.number}）",
            }
        )
    return rows


def instructions_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text as it is."""
    return csv_bytes(
        [label for _, label in INSTRUCTION_COLUMNS],
        ([row[key] for key, _ in INSTRUCTION_COLUMNS] for row in rows),
    )


def report_workbook(title: str, report: Reconciliation) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "核对报告"
    sheet.append([title])
    sheet["A1"].font = Font(size=14, bold=True)
    summary = "；".join(f"{label} {count} 行" for _, label, count in report.counts if count)
    sheet.append([f"共 {len(report.rows)} 行：{summary}"])
    sheet.append([name for name, _ in REPORT_COLUMNS])
    for column, (_, width) in enumerate(REPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
        cell = sheet.cell(row=3, column=column)
        cell.font, cell.fill = Font(bold=True), HEAD_FILL
    for checked in report.rows:
        row = checked.row
        sheet.append(
            [
                row.line,
                row.form_number,
                row.credit_code,
                row.payee,
                Decimal(row.amount),
                row.paid_on,
                row.voucher,
                checked.outcome_label,
                checked.message,
            ]
        )
        current = sheet.max_row
        sheet.cell(row=current, column=5).number_format = "#,##0.00"
        fill = PatternFill("solid", fgColor=OUTCOME_FILLS[Outcome(checked.outcome)])
        sheet.cell(row=current, column=8).fill = fill
    return workbook_bytes(book)
