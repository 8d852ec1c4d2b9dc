"""The documents: a form's PDF, a batch's PDF (汇总表 + every form) and the batch's Excel.

Everything is rendered from the frozen snapshots and the batch's own fixed fields, with the
PDF dates and file identifier set from them, so a rendering never depends on the clock.

Forms are laid out many at a time (``lay_out_forms``: one WeasyPrint layout, the styles and
fonts loaded once) and each page is written out as that form's own PDF — the very bytes
``form_pdf`` gives for the form alone, fonts subset to that page (tests/fundforms/
test_chunks.py). The same layout written whole is a *part* of the batch PDF, which is the
summary followed by its parts (``join_pdfs``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from policywindow.core.money import format_yuan, to_chinese_capital
from policywindow.core.pdf_render import lay_out, render_pdf, write_pages
from policywindow.core.spreadsheets import workbook_bytes

from .seal import seal_svg

if TYPE_CHECKING:
    from weasyprint.document import Document, Page

FORM_TITLE = "政策兑现经费审批表"
BATCH_TITLE = "政策兑现经费审批汇总表"
GENERATOR = "政策兑现单一窗口"


@dataclass(frozen=True)
class BatchHeader:
    """What a batch document says about the batch itself (fixed when the batch is issued)."""

    number: str
    label: str
    created_at: dt.datetime
    created_by: str
    org_name: str


def chinese_date(iso: str) -> str:
    """``2026-11-26T10:00:00+08:00`` -> ``2026年11月26日`` (as dated on official documents)."""
    if not iso:
        return ""
    day = dt.datetime.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def figures(amount: str | Decimal) -> str:
    """``320000`` -> ``¥320,000.00``; figures as a form prints them next to the capitals."""
    return "¥" + format_yuan(amount).removesuffix(" 元")


def _seal_uri(org_name: str, demo: bool) -> str:
    svg = seal_svg(org_name, demo=demo).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def form_context(content: dict[str, Any]) -> dict[str, Any]:
    """The snapshot plus what the page shows derived from it (dates, figures, capitals)."""
    opinions = [
        {
            **row,
            "decisions": [
                {**decision, "date": chinese_date(decision["decided_at"])}
                for decision in row["decisions"]
            ],
        }
        for row in content["opinions"]
    ]
    requested = content["requested_amount"]
    return {
        **content,
        "opinions": opinions,
        "issued_date": chinese_date(content["issued_at"]),
        "requested_figures": figures(requested) if requested else "—",
        "requested_capital": to_chinese_capital(requested) if requested else "—",
        "approved_figures": figures(content["approved_amount"]),
        "approved_capital": to_chinese_capital(content["approved_amount"]),
        "reductions": [{**cut, "figures": figures(cut["amount"])} for cut in content["reductions"]],
        "reduced": bool(content["reductions"]),
        "seal": _seal_uri(content["org_name"], content["demo"]),
        "departments": "、".join(
            dict.fromkeys(row["department"] for row in opinions if row["department"])
        ),
    }


def document_id(seed: str) -> bytes:
    """A stable 16-byte PDF file identifier derived from what the document is (its number)."""
    return hashlib.sha256(seed.encode()).digest()[:16]


def _html_pdf(html: str, number: str, title: str) -> bytes:
    return render_pdf(html, identifier=document_id(number), what=f"{title} {number}")


def _form_html(content: dict[str, Any]) -> str:
    context = {"form": form_context(content), "title": FORM_TITLE, "generator": GENERATOR}
    return render_to_string("fundforms/pdf/form.html", context)


def form_pdf(content: dict[str, Any]) -> bytes:
    """One form as an (unsigned) A4 PDF."""
    return _html_pdf(_form_html(content), content["number"], FORM_TITLE)


@dataclass(frozen=True)
class Sheets:
    """Forms laid out together (``lay_out_forms``), to be written out one by one or whole."""

    contents: list[dict[str, Any]]
    documents: list[Document]  # each form's layout: the shared one, or its own
    pages: list[list[Page]]  # each form's pages in it
    alone: bool  # laid out one by one (a form ran over one page)

    def form(self, index: int) -> bytes:
        """The form's (unsigned) PDF: the same bytes as ``form_pdf`` of its content."""
        content = self.contents[index]
        number = content["number"]
        context = {"form": content, "title": FORM_TITLE, "generator": GENERATOR}
        return write_pages(
            self.documents[index],
            None if self.alone else self.pages[index],
            head="" if self.alone else render_to_string("fundforms/pdf/form_head.html", context),
            identifier=document_id(number),
            what=f"{FORM_TITLE} {number}",
        )

    def part(self) -> bytes:
        """Every form's pages as one (unsigned) PDF, fonts shared: a part of the batch PDF."""
        first = self.contents[0]["number"]
        return write_pages(
            self.documents[0],
            [page for pages in self.pages for page in pages],
            identifier=document_id(f"{first}+{len(self.contents)}"),
            what=f"{FORM_TITLE} {first} 等 {len(self.contents)} 份",
        )


def lay_out_forms(contents: list[dict[str, Any]]) -> Sheets:
    """``contents`` laid out as one document of one page per form (forms.html). Should a form
    run over one page, forms.html's "共 1 页" would be wrong for it: then each is laid out
    alone, as ``form_pdf`` does."""
    context = {"forms": [form_context(c) for c in contents], "generator": GENERATOR}
    document = lay_out(render_to_string("fundforms/pdf/forms.html", context))
    if len(document.pages) == len(contents):
        pages = [[page] for page in document.pages]
        return Sheets(contents, [document] * len(contents), pages, alone=False)
    documents = [lay_out(_form_html(content)) for content in contents]
    return Sheets(contents, documents, [d.pages for d in documents], alone=True)


def batch_summary(header: BatchHeader, contents: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((Decimal(c["approved_amount"]) for c in contents), Decimal("0"))
    demo = any(c["demo"] for c in contents)
    return {
        "header": header,
        "date": chinese_date(header.created_at.isoformat()),
        "issued_at": header.created_at.isoformat(timespec="seconds"),
        "rows": [
            {**c, "approved_figures": format_yuan(c["approved_amount"]).removesuffix(" 元")}
            for c in contents
        ],
        "count": len(contents),
        "total_figures": figures(total),
        "total_capital": to_chinese_capital(total),
        "demo": demo,
        "seal": _seal_uri(header.org_name, demo),
    }


def summary_pdf(header: BatchHeader, contents: list[dict[str, Any]]) -> bytes:
    """The batch's summary table (汇总表) as an (unsigned) PDF: the first pages of its PDF."""
    context = {
        "summary": batch_summary(header, contents),
        "title": BATCH_TITLE,
        "generator": GENERATOR,
    }
    return _html_pdf(
        render_to_string("fundforms/pdf/summary.html", context), header.number, BATCH_TITLE
    )


def join_pdfs(first: bytes, rest: list[bytes]) -> bytes:
    """``first`` followed by the pages of ``rest``, with ``first``'s title, dates and file
    identifier: the batch PDF from its summary and its parts (the same bytes every time)."""
    from pypdf import PdfWriter  # loaded with the first batch, not at every start-up

    writer = PdfWriter(clone_from=io.BytesIO(first))
    for pdf in rest:
        writer.append(io.BytesIO(pdf), import_outline=False)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


XLSX_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6),
    ("审批表编号", 22),
    ("申报编号", 16),
    ("企业名称", 34),
    ("统一社会信用代码", 22),
    ("法定代表人", 10),
    ("开户银行", 26),
    ("银行账号", 24),
    ("政策名称", 34),
    ("政策细则", 28),
    ("申请金额（元）", 16),
    ("核定金额（元）", 16),
    ("核定金额（大写）", 30),
)
MONEY_FORMAT = "#,##0.00"


def _xlsx_row(index: int, content: dict[str, Any]) -> list[Any]:
    enterprise = content["enterprise"]
    requested = content["requested_amount"]
    return [
        index,
        content["number"],
        content["application"]["number"],
        enterprise["name"],
        enterprise["credit_code"],
        enterprise["legal_representative"],
        enterprise["bank_name"],
        enterprise["bank_account"],
        content["policy"]["title"],
        f"{content['rule']['code']} {content['rule']['title']}",
        Decimal(requested) if requested else None,
        Decimal(content["approved_amount"]),
        to_chinese_capital(content["approved_amount"]),
    ]


def batch_xlsx(header: BatchHeader, contents: list[dict[str, Any]]) -> bytes:
    """The batch as a worksheet: one row per form, a total row with figures and capitals."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "汇总表"
    workbook.properties.creator = header.org_name
    workbook.properties.title = f"{BATCH_TITLE} {header.number}"
    workbook.properties.created = header.created_at.astimezone(dt.UTC).replace(tzinfo=None)
    width = len(XLSX_COLUMNS)
    sheet.append([f"{BATCH_TITLE}（{header.number}）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    label = f"批次名称：{header.label}　" if header.label else ""
    sheet.append(
        [
            f"{label}填报单位：{header.org_name}　出具日期：{chinese_date(header.created_at.isoformat())}"
        ]
    )
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.append([name for name, _ in XLSX_COLUMNS])
    for column, (_, size) in enumerate(XLSX_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = size
        sheet.cell(row=3, column=column).font = Font(bold=True)
    for index, content in enumerate(contents, start=1):
        sheet.append(_xlsx_row(index, content))
    total = sum((Decimal(c["approved_amount"]) for c in contents), Decimal("0"))
    sheet.append(
        ["合计", f"共 {len(contents)} 户"] + [None] * 9 + [total, to_chinese_capital(total)]
    )
    last = sheet.max_row
    thin = Side(style="thin", color="000000")
    for row in sheet.iter_rows(min_row=3, max_row=last):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row in range(4, last + 1):
        for column in (11, 12):
            sheet.cell(row=row, column=column).number_format = MONEY_FORMAT
        sheet.cell(row=row, column=8).number_format = "@"  # the account stays text, never 6.2E+18
    sheet.cell(row=last, column=1).font = Font(bold=True)
    sheet.cell(row=last, column=12).font = Font(bold=True)
    sheet.freeze_panes = "A4"
    return workbook_bytes(workbook)
