"""Uploaded files (DESIGN.md §6): type decided by content, size limits, safe names, served by views.

A file's type is what its first bytes say, never its extension: a text file renamed to
``.pdf`` is refused. Files are stored under random names below MEDIA_ROOT (outside the web
root) and sent only by views that have checked permission first.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    mime: str


FILE_TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("pdf", "PDF", "application/pdf"),
        FileType("jpg", "JPG", "image/jpeg"),
        FileType("png", "PNG", "image/png"),
        FileType(
            "docx",
            "Word（DOCX）",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        FileType(
            "xlsx",
            "Excel（XLSX）",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        FileType("doc", "Word（DOC）", "application/msword"),
        FileType("xls", "Excel（XLS）", "application/vnd.ms-excel"),
    )
}
ALIASES = {"jpeg": "jpg"}
DEFAULT_TYPES = ("pdf", "jpg", "png")
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
MB = 1024 * 1024
UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def normalise_types(types: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Configured type names (``["PDF", "jpeg"]``) as known keys; empty means PDF and images."""
    keys = [
        ALIASES.get(str(t).lower().lstrip("."), str(t).lower().lstrip(".")) for t in types or ()
    ]
    known = tuple(dict.fromkeys(k for k in keys if k in FILE_TYPES))
    return known or DEFAULT_TYPES


def describe_types(types: tuple[str, ...]) -> str:
    return "、".join(FILE_TYPES[t].label for t in types)


def sniff(upload: UploadedFile, *, extension: str = "") -> str | None:
    """The file's real type from its content, or None when it is none of the known types."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(ZIP_MAGIC):
        return _office_zip_type(upload)
    if head.startswith(OLE_MAGIC):
        # The old binary formats share one container; the extension only picks the label.
        return "xls" if extension == "xls" else "doc"
    return None


def _office_zip_type(upload: UploadedFile) -> str | None:
    """DOCX/XLSX are zip packages with ``[Content_Types].xml``; reads only the directory."""
    try:
        with zipfile.ZipFile(upload) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("word/") for name in names):
        return "docx"
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    return None


def clean_original_name(name: str | None) -> str:
    """The last path segment without control or reserved characters (``../../etc/passwd`` -> ``passwd``)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = UNSAFE_NAME_CHARS.sub("", base).strip().lstrip(".").strip()
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[: 190 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else base[:200]
    return base or "未命名文件"


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def check_file(upload: UploadedFile, *, allowed_types: tuple[str, ...], max_size_mb: int) -> str:
    """The sniffed type key of an acceptable file; a Chinese ``ValidationError`` otherwise."""
    name = clean_original_name(upload.name)
    if not upload.size:
        raise ValidationError(f"文件“{name}”是空文件，请重新选择", code="empty")
    if upload.size > max_size_mb * MB:
        raise ValidationError(
            f"文件“{name}”大小为 {upload.size / MB:.1f} MB，超过单个文件上限 {max_size_mb} MB",
            code="too_large",
        )
    extension = _extension(name)
    kind = sniff(upload, extension=extension)
    claimed = FILE_TYPES.get(ALIASES.get(extension, extension))
    # A name that claims another type than the content is refused too: it would be
    # downloaded later under a misleading name.
    if kind in allowed_types and (claimed is None or claimed.key == kind):
        return kind
    allowed = describe_types(allowed_types)
    if kind is not None and kind not in allowed_types:
        message = (
            f"文件“{name}”实际为 {FILE_TYPES[kind].label} 文件，不在允许的类型内（允许：{allowed}）"
        )
    elif claimed is not None:
        actual = f"（实际为 {FILE_TYPES[kind].label} 文件）" if kind else ""
        message = (
            f"文件“{name}”的扩展名是 .{extension}，但内容不是 {claimed.label} 文件{actual}"
            f"（系统按文件内容识别类型，修改扩展名无效）。允许的类型：{allowed}"
        )
    else:
        message = f"无法识别文件“{name}”的类型。允许的类型：{allowed}"
    raise ValidationError(message, code="file_type")


def sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def random_name(kind: str) -> str:
    return f"{uuid.uuid4().hex}.{kind}"


def download(file_field, filename: str) -> FileResponse:
    """Send a stored file as an attachment under its original name."""
    if not file_field:
        raise Http404("文件不存在")
    try:
        handle = file_field.open("rb")
    except FileNotFoundError as exc:
        raise Http404("文件不存在") from exc
    return FileResponse(handle, as_attachment=True, filename=filename or file_field.name)
