"""core.files content checks: active PDF content and zip bombs are refused, ordinary files are not."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from policywindow.core import files

from .payloads import MB, PDF, PDF_WITH_JS, zip_bomb

ALL = ("pdf", "docx", "xlsx", "jpg", "png")


def check(name: str, content: bytes, limit_mb: int = 20) -> str:
    return files.check_file(
        SimpleUploadedFile(name, content), allowed_types=ALL, max_size_mb=limit_mb
    )


def refusal(name: str, content: bytes) -> str:
    with pytest.raises(ValidationError) as refused:
        check(name, content)
    return refused.value.messages[0]


def object_stream(body: bytes) -> bytes:
    """A PDF 1.5 whose objects are compressed inside an object stream."""
    return packed_objects(zlib.compress(body))


def packed_objects(packed: bytes) -> bytes:
    return (
        b"%PDF-1.5\n5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream\nendobj\n%%EOF\n"
    )


@pytest.mark.parametrize(
    "content",
    [
        PDF_WITH_JS,
        b"%PDF-1.4\n1 0 obj << /Names << /JavaScript 3 0 R >> >> endobj\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj << /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >> endobj\n",
        b"%PDF-1.4\n1 0 obj << /AA << /O << /S /Launch /F (cmd.exe) >> >> >> endobj\n%%EOF\n",
        object_stream(b"1 0 << /Type /Action /S /JavaScript /JS 7 0 R >>"),
    ],
    ids=["open-action-js", "document-js", "hex-escaped-names", "launch", "in-object-stream"],
)
def test_pdfs_with_active_content_are_refused(content):
    assert "含有脚本或自动执行的动作" in refusal("申报书.pdf", content)


def test_an_object_stream_that_cannot_be_read_is_refused():
    encrypted = packed_objects(b"\x8a\x13\xfe\x00 RC4-encrypted bytes")
    assert "无法检查的压缩对象" in refusal("加密.pdf", encrypted)


@pytest.mark.parametrize(
    "content",
    [
        PDF,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction [3 0 R /FitH null] >> endobj\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj << /JSONData (x) /Link << /S /URI /URI (https://example.org) >> >>\n",
        object_stream(b"1 0 << /Type /Page /Parent 2 0 R >>"),
    ],
    ids=["minimal", "open-to-a-page", "similar-names-and-a-link", "object-stream"],
)
def test_ordinary_pdfs_are_accepted(content):
    assert check("申报书.pdf", content) == "pdf"


def test_a_weasyprint_pdf_with_links_is_accepted():
    from weasyprint import HTML

    html = "<h1 style='font-family: DejaVu Sans'>Fund form</h1><a href='https://example.org'>x</a>"
    pdf = HTML(string=html).write_pdf()
    assert check("审批表.pdf", pdf) == "pdf"


def test_zip_bombs_are_refused_whatever_office_type_they_claim():
    assert "疑似压缩炸弹" in refusal("说明.docx", zip_bomb("docx"))
    assert "疑似压缩炸弹" in refusal("台账.xlsx", zip_bomb("xlsx"))


def test_a_package_that_lies_about_its_sizes_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"\x00" * (40 * MB))
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")  # the directory entry of word/document.xml
    struct.pack_into("<I", data, central + 24, 1000)  # claims 1000 bytes unpacked
    assert "已损坏或不是有效的 Office 文件" in refusal("说明.docx", bytes(data))


def test_ordinary_office_files_are_accepted():
    workbook = Workbook()
    for row in range(5000):
        workbook.active.append([row, "研发费用", row * 1.5])
    xlsx = io.BytesIO()
    workbook.save(xlsx)
    assert check("台账.xlsx", xlsx.getvalue()) == "xlsx"
    repetitive = io.BytesIO()  # compresses far better than 200:1, but unpacks to < 32 MB
    with zipfile.ZipFile(repetitive, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:t>" + "正文" * 400_000 + "</w:t>")
    assert check("说明.docx", repetitive.getvalue()) == "docx"
