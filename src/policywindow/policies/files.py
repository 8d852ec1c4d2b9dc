"""Uploaded files of the policy library (item templates, policy attachments).

A file's type is decided by its content, not its name; it is stored under a
random name outside the web root and served only through a view.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404

from policywindow.core.errors import ValidationFailed

FILE_TYPES = ("pdf", "jpg", "png", "doc", "docx", "xls", "xlsx")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "doc": (OLE,),
    "xls": (OLE,),
    "docx": (ZIP,),
    "xlsx": (ZIP,),
}
EXTENSION_ALIASES = {"jpeg": "jpg"}


def extension_of(name: str) -> str:
    ext = PurePath(name).suffix.lower().lstrip(".")
    return EXTENSION_ALIASES.get(ext, ext)


def check_upload(upload: UploadedFile, *, field: str, allowed: tuple[str, ...], max_mb: int) -> str:
    """The file's type when its name, content and size are acceptable; else a field error."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, details={field: [message]})

    ext = extension_of(upload.name)
    if ext not in allowed:
        raise refuse(f"仅支持以下文件类型：{'、'.join(allowed)}")
    if upload.size > max_mb * 1024 * 1024:
        raise refuse(f"文件大小不能超过 {max_mb} MB")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(SIGNATURES[ext]):
        raise refuse(f"文件内容与扩展名 .{ext} 不符，请上传真实的 {ext} 文件")
    return ext


def random_name(ext: str) -> str:
    return f"{uuid.uuid4().hex}.{ext}"


def sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def download(file_field, filename: str) -> FileResponse:
    """Send a stored file as an attachment under its original name."""
    if not file_field:
        raise Http404("文件不存在")
    try:
        handle = file_field.open("rb")
    except FileNotFoundError as exc:
        raise Http404("文件不存在") from exc
    return FileResponse(handle, as_attachment=True, filename=filename or file_field.name)
