"""Hostile files for the upload tests, and helpers to send them as a browser would (not a test module)."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import pdfs

MB = 1024 * 1024
PDF = pdfs.minimal()
# A Windows executable, renamed.
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"
    + b"\x00" * 50
    + b"This program cannot be run in DOS mode.\r\n"
)
PDF_WITH_JS = pdfs.document(
    {
        1: pdfs.catalog_with(
            b"/OpenAction << /S /JavaScript /JS (app.launchURL('http://evil.example/');) >>"
        )
    }
)


@functools.cache
def zip_bomb(kind: str = "docx", unpacked_mb: int = 100) -> bytes:
    """A valid OOXML package (so it sniffs as DOCX/XLSX) with one part of ``unpacked_mb`` zeros:
    about 100 KB that unpack a thousandfold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
        with package.open(
            "word/media/image1.bin" if kind == "docx" else "xl/media/a.bin", "w"
        ) as part:
            chunk = b"\x00" * MB
            for _ in range(unpacked_mb):
                part.write(chunk)
    return buffer.getvalue()


@dataclass(frozen=True)
class Hostile:
    """A file that must be refused, and what the refusal must say."""

    id: str
    name: str
    reason: str

    def content(self, limit_mb: int) -> bytes:
        if self.id == "oversized":
            return PDF[:9] + b"0" * (limit_mb * MB + 1 - 9)  # one byte over the limit
        return {
            "renamed_exe": EXE,
            "zip_bomb_docx": zip_bomb("docx"),
            "zip_bomb_as_pdf": zip_bomb("docx"),
            "plain_zip": _plain_zip(),
            "pdf_javascript": PDF_WITH_JS,
            "empty": b"",
        }[self.id]

    def upload(self, limit_mb: int) -> SimpleUploadedFile:
        return SimpleUploadedFile(self.name, self.content(limit_mb), content_type="application/pdf")


@functools.cache
def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\x00" * (20 * MB))
    return buffer.getvalue()


HOSTILE = [
    Hostile("renamed_exe", "营业执照.pdf", "扩展名是 .pdf，但内容不是 PDF 文件"),
    Hostile("oversized", "审计报告.pdf", "超过单个文件上限"),
    Hostile("zip_bomb_docx", "项目说明.docx", "疑似压缩炸弹"),
    Hostile("zip_bomb_as_pdf", "项目说明.pdf", "内容不是 PDF 文件"),
    Hostile("plain_zip", "资料.zip", "无法识别文件"),
    Hostile("pdf_javascript", "承诺书.pdf", "含有脚本或自动执行的动作"),
    Hostile("empty", "空文件.pdf", "是空文件"),
]
# Where only PDF and images are allowed, a (bomb) DOCX is refused for its type already.
PDF_AND_IMAGES_ONLY = {"zip_bomb_docx": "不在允许的类型内", "zip_bomb_as_pdf": "不在允许的类型内"}


def stored_files() -> list[Path]:
    """Every file under MEDIA_ROOT (the tests point it at an empty temporary directory)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'data-field-error="{field}">([^<]*)<', html)


def raw_multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart body with file names exactly as given (Django's test client strips paths)."""
    boundary = "----policywindow-hostile-boundary"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for field, filename, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        )
        parts.append(head.encode("utf-8") + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
