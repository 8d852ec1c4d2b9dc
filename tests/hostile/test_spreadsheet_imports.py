"""Hostile workbooks through every Excel import: refused before a cell is read, never in a transaction.

The imports are the enterprise register (企业批量导入), the bank / treasury statement (拨付回单)
and, as text only, the reform task table. A zip bomb is refused from the zip's directory
alone (no byte is unpacked: that is what makes the refusal instant — ``bench/spreadsheet_bomb.py``
times it), a sheet's ``<dimension>`` before its rows, and rows past the limit as they come.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from openpyxl import Workbook

from policywindow.core.errors import ValidationFailed
from policywindow.core.spreadsheets import SheetLimits
from policywindow.enterprises import services as enterprises
from policywindow.enterprises.importing import COLUMN_LABELS
from policywindow.enterprises.models import CLERK_EDITABLE_FIELDS, Enterprise
from policywindow.finance.models import PaymentImport
from policywindow.finance.services import payment_imports
from policywindow.finance.statement import SHEET_LIMITS as STATEMENT_LIMITS
from policywindow.reforms import table
from policywindow.reforms.table import TableRejected

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _rows(count: int, columns: int = 6) -> Iterator[bytes]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:columns]
    for number in range(1, count + 1):
        cells = b"".join(
            b'<c r="%s%d"><v>%d</v></c>' % (letter.encode(), number, number) for letter in letters
        )
        yield b'<row r="%d">%s</row>' % (number, cells)


def workbook(rows: Iterator[bytes], *, dimension: str | None, extra_parts: int = 0) -> bytes:
    """A valid .xlsx (openpyxl's own parts) whose first sheet is written from ``rows``."""
    template = io.BytesIO()
    Workbook().save(template)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package,
    ):
        for item in source.infolist():
            if item.filename != SHEET:
                package.writestr(item, source.read(item))
        with package.open(SHEET, "w") as sheet:
            sheet.write(HEAD)
            if dimension:
                sheet.write(b'<dimension ref="%s"/>' % dimension.encode())
            sheet.write(b"<sheetData>")
            for row in rows:
                sheet.write(row)
            sheet.write(b"</sheetData></worksheet>")
        for n in range(extra_parts):
            package.writestr(f"xl/media/image{n}.png", b"")
    return out.getvalue()


@functools.cache
def bomb() -> bytes:
    """Under 200 KB that unpack to some 50 MB of cells (more than twice the imports' limit):
    identical rows (row and cell references are optional) compress a few hundredfold."""
    rows = b"<row>" + b"<c><v>1</v></c>" * 6 + b"</row>"
    return workbook(iter([rows * 1000] * 500), dimension="A1:F500000")


def liar() -> bytes:
    """A workbook whose sheet declares 1,000 bytes unpacked and holds about 3 MB."""
    data = bytearray(workbook(_rows(20_000), dimension=None))
    for signature, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        position = data.find(signature)
        while position >= 0:
            name_length = struct.unpack_from("<H", data, position + (28 if size_at == 24 else 26))
            start = position + (46 if size_at == 24 else 30)
            if data[start : start + name_length[0]] == SHEET.encode():
                struct.pack_into("<I", data, position + size_at, 1000)
            position = data.find(signature, position + 4)
    return bytes(data)


@pytest.fixture
def atomic_blocks(monkeypatch) -> list[int]:
    """Counts every ``transaction.atomic`` block entered from now on."""
    entered: list[int] = []
    original = transaction.Atomic.__enter__

    def counting(self):
        entered.append(1)
        return original(self)

    monkeypatch.setattr(transaction.Atomic, "__enter__", counting)
    return entered


@pytest.fixture
def unpacked(monkeypatch) -> list[int]:
    """Counts the bytes unpacked from any zip from now on."""
    read: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = original(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return read


@pytest.fixture
def clerk(make_user):
    return make_user("import_clerk", "window_clerk")


@pytest.fixture
def finance(make_user):
    return make_user("import_finance", "finance_officer")


def import_enterprises(clerk, data: bytes) -> str:
    with pytest.raises(ValidationFailed) as refused:
        enterprises.import_enterprises(clerk, SimpleUploadedFile("企业.xlsx", data))
    assert not Enterprise.objects.exists()
    return refused.value.details["file"][0]


def import_statement(finance, data: bytes) -> str:
    with pytest.raises(ValidationFailed) as refused:
        payment_imports.upload(finance, "回单.xlsx", data)
    assert not PaymentImport.objects.exists()
    return refused.value.details["file"][0]


IMPORTS = [import_enterprises, import_statement]
ACTORS = {import_enterprises: "clerk", import_statement: "finance"}


@pytest.fixture(params=IMPORTS, ids=["enterprises", "statement"])
def refuse(request):
    """Each service import, as its actor; returns the refusal on the ``file`` field."""
    actor = request.getfixturevalue(ACTORS[request.param])
    return functools.partial(request.param, actor)


def test_a_zip_bomb_is_refused_from_the_directory_without_unpacking_or_a_transaction(
    refuse, atomic_blocks, unpacked
):
    data = bomb()
    assert len(data) < 200 * 1024
    unpacked.clear()  # making the bomb read openpyxl's template
    message = refuse(data)
    assert "解压后为" in message and "超过导入上限 20 MB" in message and "疑似压缩炸弹" in message
    assert sum(unpacked) == 0  # the verdict came from the zip's directory alone
    assert atomic_blocks == []


def test_a_sheet_claiming_a_million_rows_is_refused_before_its_rows_are_read(refuse, atomic_blocks):
    message = refuse(workbook(_rows(3), dimension="A1:F1048576"))
    assert (
        "数据区域为 1,048,576 行 × 6 列" in message and "超过导入上限 2,100 行 × 60 列" in message
    )
    assert atomic_blocks == []


def test_a_sheet_claiming_every_column_is_refused(refuse):
    assert "× 16,384 列" in refuse(workbook(_rows(3), dimension="A1:XFD3"))


@pytest.mark.parametrize("dimension", [None, "A1:F3"], ids=["no-dimension", "lying-dimension"])
def test_rows_past_the_limit_are_refused_whatever_the_dimension_says(refuse, dimension):
    """The enterprise template's header, then one row just past the limit."""
    limit = STATEMENT_LIMITS.max_rows
    header = b"".join(
        b'<c t="inlineStr"><is><t>%s</t></is></c>' % COLUMN_LABELS[field].encode()
        for field in CLERK_EDITABLE_FIELDS
    )
    past = b'<row r="%d"><c><v>1</v></c></row>' % (limit + 1)
    rows = iter([b'<row r="1">%s</row>' % header, past])
    message = refuse(workbook(rows, dimension=dimension))
    assert f"超过 {limit:,} 行" in message


def test_too_many_parts_are_refused(refuse):
    parts = SheetLimits(max_bytes=1, max_rows=1).max_parts
    assert f"超过导入上限 {parts} 个" in refuse(
        workbook(_rows(3), dimension="A1:F3", extra_parts=parts)
    )


def test_a_part_that_lies_about_its_size_is_refused_as_damaged(refuse):
    message = refuse(liar())
    assert "无法读取" in message


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened(refuse, unpacked):
    message = refuse(b"PK\x03\x04" + b"\x00" * (5 * MB + 1))
    assert "超过导入上限 5 MB" in message and sum(unpacked) == 0


def test_the_pages_show_the_refusal_on_the_file_field(clerk, finance, login):
    page = login(clerk).post(
        reverse("enterprises:enterprise_import"), {"file": SimpleUploadedFile("企业.xlsx", bomb())}
    )
    assert "疑似压缩炸弹" in page.content.decode()
    page = login(finance).post(
        reverse("finance:import_upload"), {"file": SimpleUploadedFile("回单.xlsx", bomb())}
    )
    html = page.content.decode()
    assert page.status_code == 400 and 'data-field-error="file"' in html and "疑似压缩炸弹" in html


def test_the_reform_table_import_never_opens_a_workbook(unpacked):
    with pytest.raises(TableRejected) as refused:
        table.decode(bomb())
    assert "另存为" in refused.value.problems[0].message
    assert sum(unpacked) == 0
