"""Uploaded files (DESIGN.md §6): type decided by content, size limits, safe names, served by views.

A file's type is what its first bytes say, and its name must say the same: a text file
renamed to ``.pdf`` is refused, and so is a PDF named ``.html``, ``.exe``, ``x.pdf.html`` or
without an extension (it would be downloaded later under a misleading name). Content that is
dangerous to whoever opens the file later is refused too: a PDF with active content
(``core.pdf_content``) and a DOCX/XLSX package that expands far beyond its size (a zip bomb).
Files are stored under random names below MEDIA_ROOT (outside the web root) and sent only by
views that have checked permission first, through ``send_file``: as an attachment with the
stored type and ``nosniff``, or — for a deliberate preview of a PDF or image — inline in a
sandbox.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase

from . import pdf_content


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    mime: str
    extensions: tuple[str, ...]  # the names a file of this type may have, the usual first

    @property
    def shown_extensions(self) -> str:
        return "、".join(f".{ext}" for ext in self.extensions)


FILE_TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("pdf", "PDF", "application/pdf", ("pdf",)),
        FileType("jpg", "JPG", "image/jpeg", ("jpg", "jpeg")),
        FileType("png", "PNG", "image/png", ("png",)),
        FileType(
            "docx",
            "Word（DOCX）",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ("docx",),
        ),
        FileType(
            "xlsx",
            "Excel（XLSX）",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ("xlsx",),
        ),
        FileType("doc", "Word（DOC）", "application/msword", ("doc",)),
        FileType("xls", "Excel（XLS）", "application/vnd.ms-excel", ("xls",)),
    )
}
ALIASES = {"jpeg": "jpg"}
DEFAULT_TYPES = ("pdf", "jpg", "png")
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
MB = 1024 * 1024
UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
# A DOCX/XLSX package may unpack to SMALL_UNPACKED, or to MAX_EXPANSION times its size,
# but never beyond MAX_UNPACKED (a zip bomb expands a thousandfold and more).
SMALL_UNPACKED = 32 * MB
MAX_EXPANSION = 200
MAX_UNPACKED = 256 * MB
MAX_PACKAGE_ENTRIES = 5000
OCTET_STREAM = "application/octet-stream"
# Types a page may show inline (a deliberate preview); everything else is only downloaded.
PREVIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})
# A preview runs no script, loads nothing and cannot navigate or submit, even if it were HTML.
PREVIEW_POLICY = (
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)
ASCII_UNSAFE = re.compile(r'[^\x20-\x7e]+|["\\]')


def normalise_types(types: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Configured type names (``["PDF", "jpeg"]``) as known keys; empty means PDF and images."""
    keys = [
        ALIASES.get(str(t).lower().lstrip("."), str(t).lower().lstrip(".")) for t in types or ()
    ]
    known = tuple(dict.fromkeys(k for k in keys if k in FILE_TYPES))
    return known or DEFAULT_TYPES


def describe_types(types: tuple[str, ...]) -> str:
    return "、".join(FILE_TYPES[t].label for t in types)


def accept_attribute(types: tuple[str, ...]) -> str:
    """A file input's ``accept`` for these types: every extension a name may have and the MIME type.

    Phones go by the MIME types: an image type makes them offer the camera beside the files
    (``capture`` would force the camera), and the other types keep documents pickable.
    """
    parts = (
        part
        for key in normalise_types(types)
        for part in (*(f".{ext}" for ext in FILE_TYPES[key].extensions), FILE_TYPES[key].mime)
    )
    return ",".join(parts)


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


PATH_SEPARATOR = re.compile(r"[\\/]")
CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")
SHOWN_NAME_LIMIT = 120


def climbs_directories(name: str) -> bool:
    """Whether a file name holds a ``..`` path segment (``../``, ``..\\``, ``a/..``).

    Checked on the name exactly as sent, after HTML unescaping (Django's parser unescapes
    ``&#46;&#46;/`` to ``../``) and with invisible characters removed (``.\\u200b./``).
    """
    unescaped = html.unescape(name)
    visible = "".join(char for char in unescaped if char.isprintable())
    return any(
        segment.strip() == ".."
        for candidate in (name, unescaped, visible)
        for segment in PATH_SEPARATOR.split(candidate)
    )


def traversal_in_file_name(name: str) -> bool:
    """Whether an upload's file name tries path traversal, so the upload is refused.

    A ``..`` segment, or control characters together with a path separator: no browser
    sends those, they only serve to disguise a path. A plain full path
    (``C:\\Users\\…\\营业执照.pdf`` from old browsers, ``/var/www/x.pdf``) is no attempt:
    its directory part is dropped and the file accepted.
    """
    unescaped = html.unescape(name)
    disguised = bool(PATH_SEPARATOR.search(unescaped) and CONTROL_CHAR.search(unescaped))
    return disguised or climbs_directories(name)


def shown_file_name(name: str) -> str:
    """A file name fit for a message: invisible characters as ``\\uXXXX``, shortened."""
    shown = "".join(
        char if char.isprintable() else f"\\u{ord(char):04x}" for char in html.unescape(name)
    )
    return shown if len(shown) <= SHOWN_NAME_LIMIT else f"{shown[: SHOWN_NAME_LIMIT - 1]}…"


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _pdf_problem(upload: UploadedFile, name: str) -> str | None:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        found = pdf_content.active_content(data)
    except pdf_content.Unreadable as exc:
        return (
            f"文件“{name}”{exc.reason}，出于安全原因不予接收。"
            "请取消密码或用“打印为 PDF”重新生成后上传"
        )
    if found:
        return (
            f"文件“{name}”含有脚本或自动执行的动作、嵌入文件等活动内容（{'、'.join(found)}），"
            "出于安全原因不予接收。请用“打印为 PDF”或扫描件重新生成后上传"
        )
    return None


def _package_problem(upload: UploadedFile, name: str) -> str | None:
    """A zip bomb: a DOCX/XLSX whose parts unpack far beyond the file's own size."""
    refused = f"文件“{name}”解压后异常庞大（疑似压缩炸弹），出于安全原因不予接收"
    try:
        with zipfile.ZipFile(upload) as package:
            entries = package.infolist()
            declared = sum(entry.file_size for entry in entries)
            limit = min(MAX_UNPACKED, max(SMALL_UNPACKED, MAX_EXPANSION * upload.size))
            if len(entries) > MAX_PACKAGE_ENTRIES or declared > limit:
                return refused
            # Declared sizes can lie; reading stops at them and the CRC check catches the lie.
            for entry in entries:
                with package.open(entry) as part:
                    while part.read(MB):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        return f"文件“{name}”已损坏或不是有效的 Office 文件，请重新导出后上传"
    finally:
        upload.seek(0)
    return None


CONTENT_CHECKS = {"pdf": _pdf_problem, "docx": _package_problem, "xlsx": _package_problem}


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
    if kind in allowed_types and extension in FILE_TYPES[kind].extensions:
        content_check = CONTENT_CHECKS.get(kind)
        if content_check and (problem := content_check(upload, name)):
            raise ValidationError(problem, code="unsafe_content")
        return kind
    raise ValidationError(_type_problem(name, extension, kind, allowed_types), code="file_type")


def _type_problem(
    name: str, extension: str, kind: str | None, allowed_types: tuple[str, ...]
) -> str:
    allowed = describe_types(allowed_types)
    if kind is not None and kind not in allowed_types:
        return (
            f"文件“{name}”实际为 {FILE_TYPES[kind].label} 文件，不在允许的类型内（允许：{allowed}）"
        )
    claimed = FILE_TYPES.get(ALIASES.get(extension, extension))
    if kind is not None:
        # Allowed content under a name of another type (or of none): it would be downloaded,
        # and perhaps opened, as that other type later.
        actual = FILE_TYPES[kind]
        extensions = "、".join(FILE_TYPES[t].shown_extensions for t in allowed_types)
        if claimed is not None:
            mismatch = f"的扩展名是 .{extension}，但内容不是 {claimed.label} 文件（实际为 {actual.label} 文件）"
        else:
            named = f"扩展名是 .{extension}" if extension else "没有扩展名"
            mismatch = f"的内容是 {actual.label} 文件，但{named}"
        return (
            f"文件“{name}”{mismatch}。只接受扩展名与内容一致的文件：{actual.label} 文件的扩展名"
            f"应为 {actual.shown_extensions}，请改名后重新上传（允许的扩展名：{extensions}）"
        )
    if claimed is not None:
        return (
            f"文件“{name}”的扩展名是 .{extension}，但内容不是 {claimed.label} 文件"
            f"（系统按文件内容识别类型，修改扩展名无效）。允许的类型：{allowed}"
        )
    return f"无法识别文件“{name}”的类型。允许的类型：{allowed}"


def sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def random_name(kind: str) -> str:
    return f"{uuid.uuid4().hex}.{kind}"


def content_type_for(name: str) -> str:
    """The type of a stored file by its (random, checked) name: ``<hex>.pdf`` -> PDF."""
    extension = _extension(name)
    known = next((t for t in FILE_TYPES.values() if extension in t.extensions), None)
    return known.mime if known else OCTET_STREAM


def download_name(filename: str, content_type: str) -> str:
    """The name a download is saved under: cleaned, and ending in an extension of its type
    (a PDF stored under the name ``x.html`` is sent as ``x.html.pdf``)."""
    name = clean_original_name(filename)
    known = next((t for t in FILE_TYPES.values() if t.mime == content_type), None)
    if known and _extension(name) not in known.extensions:
        name = f"{name}.{known.extensions[0]}"
    return name


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=utf-8''…`` (RFC 6266 / RFC 5987)."""
    fallback = ASCII_UNSAFE.sub("_", filename)
    encoded = quote(filename, safe="")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=utf-8''{encoded}"


def send_file(
    content: FieldFile | bytes, filename: str, content_type: str = "", *, inline: bool = False
) -> HttpResponseBase:
    """Every stored or generated file leaves through here, after the view's permission check.

    Sent with its stored type (by its stored name when none is recorded) and ``nosniff``, as
    an attachment. ``inline`` (a page's deliberate preview) is honoured only for PDF and
    images, and then under a sandboxing Content-Security-Policy. Bytes made for this request
    are sent as they are; a stored file is streamed.
    """
    response: HttpResponseBase
    if isinstance(content, bytes):
        content_type = content_type or OCTET_STREAM
        response = HttpResponse(content, content_type=content_type)
    else:
        content_type = content_type or content_type_for(content.name)
        response = FileResponse(_open_stored(content), content_type=content_type)
    preview = inline and content_type in PREVIEWABLE
    response["Content-Disposition"] = content_disposition(
        download_name(filename, content_type), inline=preview
    )
    response["X-Content-Type-Options"] = "nosniff"
    if preview and content_type.startswith("image/"):
        # PDFs keep the framing-only policy (core/csp.py): Chromium's PDF viewer shows a
        # blank frame under ``sandbox``, and active PDFs never get this far (pdf_content.py).
        response["Content-Security-Policy"] = PREVIEW_POLICY
    return response


def _open_stored(file_field: FieldFile):
    if not file_field:
        raise Http404("文件不存在")
    try:
        return file_field.open("rb")
    except FileNotFoundError as exc:
        raise Http404("文件不存在") from exc
