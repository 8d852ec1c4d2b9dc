"""core.files content checks on Office packages: zip bombs are refused, ordinary files are not.

Active PDF content is tested in ``test_upload_structure.py``."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from policywindow.core import files

from .payloads import MB, zip_bomb

ALL = ("pdf", "docx", "xlsx", "jpg", "png")


def check(name: str, content: bytes, limit_mb: int = 20) -> str:
    return files.check_file(
        SimpleUploadedFile(name, content), allowed_types=ALL, max_size_mb=limit_mb
    )


def refusal(name: str, content: bytes) -> str:
    with pytest.raises(ValidationError) as refused:
        check(name, content)
    return refused.value.messages[0]


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
