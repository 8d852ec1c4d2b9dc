"""Spreadsheets in and out: every Excel import opens its file here, every export writes here.

Importing: an .xlsx is a zip of XML, so a small file can unpack to hundreds of megabytes
and a sheet can claim a million rows. ``open_sheet`` refuses such a file from the zip's
directory and the sheet's ``<dimension>`` before a single cell is read, and then reads at
most the allowed number of rows. It is called before any transaction opens, so a hostile
file never holds a database lock.

Exporting: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@`` (or tab, CR,
or their full-width forms) as a formula (CSV injection). ``csv_bytes`` prefixes such text
with an apostrophe (OWASP); ``workbook_bytes`` stores it as a string cell with Excel's quote
prefix, so it is shown as typed and never becomes a formula, even when edited. Numbers
(``Decimal`` amounts, negative figures) stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

from .errors import ValidationFailed

MB = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
# What a damaged package or sheet raises while it is read.
DAMAGED = (
    InvalidFileException,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    OSError,
    SyntaxError,  # xml.etree.ElementTree.ParseError
)


@dataclass(frozen=True)
class SheetLimits:
    """What one import accepts. ``max_rows`` counts every row of the sheet (header included)."""

    max_bytes: int
    max_rows: int
    max_columns: int = 60
    max_unpacked: int = 20 * MB
    max_parts: int = 500


@dataclass(frozen=True)
class Messages:
    """The import's own words for a file that is no workbook or cannot be read."""

    not_workbook: str
    damaged: str


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"file": [message]})


class Sheet:
    """The worksheet to import, checked; ``rows()`` yields its values row by row."""

    def __init__(self, worksheet: Any, limits: SheetLimits, messages: Messages):
        self.worksheet, self.limits, self.messages = worksheet, limits, messages

    @property
    def title(self) -> str:
        return self.worksheet.title

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """At most ``max_rows`` rows of at most ``max_columns`` values, whatever the sheet's
        ``<dimension>`` says; a filled row after the last allowed one refuses the file."""
        limit = self.limits.max_rows
        cells = self.worksheet.iter_rows(
            max_row=limit + 1, max_col=self.limits.max_columns, values_only=True
        )
        try:
            for number, values in enumerate(cells, start=1):
                if number > limit:
                    if any(value not in (None, "") for value in values):
                        raise refuse(
                            f"工作表“{self.title}”超过 {limit:,} 行，超过导入上限，"
                            "请拆分文件后分批导入"
                        )
                    return
                yield values
        except DAMAGED as exc:
            raise refuse(self.messages.damaged) from exc


@contextmanager
def open_sheet(
    source: bytes | IO[bytes],
    limits: SheetLimits,
    messages: Messages,
    *,
    title: str | None = None,
) -> Iterator[Sheet]:
    """The sheet named ``title`` (else the first) of an uploaded .xlsx, once the file's size,
    its zip directory (unpacked size, number of parts) and the sheet's dimensions are within
    ``limits``; ``ValidationFailed`` on the ``file`` field otherwise."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    _check_size(handle, limits)
    _check_package(handle, limits, messages)
    try:
        book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    except DAMAGED as exc:
        raise refuse(messages.damaged) from exc
    try:
        worksheet = book[title] if title in book.sheetnames else book.worksheets[0]
        _check_dimensions(worksheet, limits)
        yield Sheet(worksheet, limits, messages)
    finally:
        book.close()
        handle.seek(0)  # an upload is read again after a form's check


def check_workbook(
    source: bytes | IO[bytes], limits: SheetLimits, messages: Messages, *, title: str | None = None
) -> None:
    """``open_sheet``'s checks alone, for a form to refuse a file before anything else."""
    with open_sheet(source, limits, messages, title=title):
        pass


def _check_size(handle: IO[bytes], limits: SheetLimits) -> None:
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    if size > limits.max_bytes:
        raise refuse(
            f"文件大小为 {size / MB:.1f} MB，超过导入上限 {limits.max_bytes / MB:g} MB，"
            "请拆分后分批导入"
        )


def _check_package(handle: IO[bytes], limits: SheetLimits, messages: Messages) -> None:
    """From the zip's directory only: nothing is unpacked. The sizes it declares bound what
    is read later (reading stops there and a lying part fails its CRC check)."""
    head = handle.read(len(ZIP_MAGIC))
    handle.seek(0)
    if head != ZIP_MAGIC:
        raise refuse(messages.not_workbook)
    try:
        with zipfile.ZipFile(handle) as package:
            parts = package.infolist()
    except DAMAGED as exc:
        raise refuse(messages.damaged) from exc
    finally:
        handle.seek(0)
    if len(parts) > limits.max_parts:
        raise refuse(
            f"文件含有 {len(parts):,} 个部件，超过导入上限 {limits.max_parts} 个，不予导入"
        )
    unpacked = sum(part.file_size for part in parts)
    if unpacked > limits.max_unpacked:
        raise refuse(
            f"文件解压后为 {unpacked / MB:,.0f} MB，超过导入上限 {limits.max_unpacked / MB:g} MB"
            "（疑似压缩炸弹），不予导入；请只保留需要导入的工作表后重新上传"
        )


def _check_dimensions(worksheet: Any, limits: SheetLimits) -> None:
    """The sheet's own ``<dimension>`` (absent in some files: then ``rows()`` bounds it)."""
    rows, columns = worksheet.max_row or 0, worksheet.max_column or 0
    if rows > limits.max_rows or columns > limits.max_columns:
        raise refuse(
            f"工作表“{worksheet.title}”的数据区域为 {rows:,} 行 × {columns:,} 列，"
            f"超过导入上限 {limits.max_rows:,} 行 × {limits.max_columns} 列；"
            "请删除多余的行列，或拆分文件后分批导入"
        )


# ---------------------------------------------------------------- exports

FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could take the text for a formula (``=HYPERLINK(…)``,
    ``+cmd|…``, ``@SUM(1)``, ``-2+3``); leading spaces do not stop every program. A plain
    number (``-12.50``) is read as that number and nothing else."""
    start = text.lstrip(" \u3000")
    return bool(start) and start[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(start)


def csv_cell(value: Any) -> Any:
    """The value as a CSV export writes it: formula-like text behind an apostrophe."""
    return f"'{value}" if isinstance(value, str) and runs_as_formula(value) else value


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV export: UTF-8 with a byte-order mark (so Excel reads the Chinese), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in (header, *rows):
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def workbook_bytes(book: Workbook) -> bytes:
    """An Excel export, saved with every formula-like text cell made a plain string.

    Exports hold no formulas of their own, so any cell openpyxl took for one (it does for
    every text starting with ``=``) is data.
    """
    for sheet in book.worksheets:
        # The stored cells only: walking the grid would create empty ones.
        for cell in sheet._cells.values():
            if isinstance(cell.value, str) and (
                cell.data_type == "f" or runs_as_formula(cell.value)
            ):
                cell.data_type = "s"
                cell.quotePrefix = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
