"""Uploaded files (DESIGN.md §6): type decided by content, size limits, safe names, served by views.

A file's type is what its first bytes say, never its extension: a text file renamed to
``.pdf`` is refused. Content that is dangerous to whoever opens the file later is refused
too: a PDF with active content (JavaScript, launch actions) and a DOCX/XLSX package that
expands far beyond its size (a zip bomb). Files are stored under random names below
MEDIA_ROOT (outside the web root) and sent only by views that have checked permission first.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
import zipfile
import zlib
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
# A DOCX/XLSX package may unpack to SMALL_UNPACKED, or to MAX_EXPANSION times its size,
# but never beyond MAX_UNPACKED (a zip bomb expands a thousandfold and more).
SMALL_UNPACKED = 32 * MB
MAX_EXPANSION = 200
MAX_UNPACKED = 256 * MB
MAX_PACKAGE_ENTRIES = 5000
# PDF actions that run code or start programs when the document is opened or clicked.
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch)(?![A-Za-z0-9_.#-])")
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")
PDF_MAX_INFLATED = 64 * MB


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


def _pdf_names(data: bytes) -> bytes:
    """``/J#53`` is ``/JS``: a PDF name may hide its letters behind #xx escapes."""
    return PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _inflate(data: bytes) -> bytes | None:
    """A Flate stream's content (at most PDF_MAX_INFLATED), or None when it is not one."""
    inflater = zlib.decompressobj()
    try:
        content = inflater.decompress(data.lstrip(b"\r\n"), PDF_MAX_INFLATED)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else content


def _pdf_regions(data: bytes) -> tuple[list[bytes], bool]:
    """The PDF's text outside streams plus its inflated object streams (where compressed
    dictionaries live); and whether an object stream could not be read."""
    regions, position, unreadable = [], 0, False
    while match := PDF_STREAM.search(data, position):
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        regions.append(data[position : match.start()])
        dictionary = _pdf_names(data[data.rfind(b"obj", 0, match.start()) : match.start()])
        if b"/ObjStm" in dictionary:
            inflated = _inflate(data[match.end() : end])
            unreadable = unreadable or inflated is None
            regions.append(inflated or b"")
        position = end + len(b"endstream")
    regions.append(data[position:])
    return regions, unreadable


def _pdf_problem(upload: UploadedFile, name: str) -> str | None:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    regions, unreadable = _pdf_regions(data)
    found = {m.group(1).decode() for r in regions for m in PDF_ACTIVE.finditer(_pdf_names(r))}
    if found:
        return (
            f"文件“{name}”含有脚本或自动执行的动作（{'、'.join(sorted(found))}），"
            "出于安全原因不予接收。请用“打印为 PDF”或扫描件重新生成后上传"
        )
    if unreadable:
        return (
            f"文件“{name}”含有无法检查的压缩对象（文件可能已加密），出于安全原因不予接收。"
            "请取消加密或用“打印为 PDF”重新生成后上传"
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
    claimed = FILE_TYPES.get(ALIASES.get(extension, extension))
    # A name that claims another type than the content is refused too: it would be
    # downloaded later under a misleading name.
    if kind in allowed_types and (claimed is None or claimed.key == kind):
        content_check = CONTENT_CHECKS.get(kind)
        if content_check and (problem := content_check(upload, name)):
            raise ValidationError(problem, code="unsafe_content")
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
