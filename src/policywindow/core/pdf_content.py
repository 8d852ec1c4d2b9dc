"""Active content in an uploaded PDF, decided on the parsed structure (pypdf), not on bytes.

A byte scan is blind to what a PDF reader sees after parsing: names spelt with ``#xx``
escapes (``/#4AavaScript``), tokens split by comments, dictionaries inside compressed object
streams (any filter), objects added by an incremental update. So the file is parsed, and
every object is inspected:

* every object of the current revision, through the cross-reference data (the objects of
  object streams are parsed here, strictly: a stream that cannot be decoded is refused);
* every object written anywhere in the file, found by its ``N G obj`` header — objects of
  earlier revisions and objects no cross-reference lists, which a reader repairing the file
  would use.

An object is active when it holds JavaScript, a launch or other dangerous action, an
automatic action (``/AA``, ``/OpenAction`` other than going to a page), an embedded file,
an XFA form or rich media. A file that cannot be parsed, or is encrypted with a password,
is refused too: what cannot be inspected is not accepted. Work is bounded: at most
``MAX_OBJECTS`` objects and ``MAX_INFLATED`` bytes of decoded object streams.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    PdfObject,
    StreamObject,
    read_object,
)

MB = 1024 * 1024
MAX_OBJECTS = 20_000  # a 100-page report has a few thousand; each costs about 0.15 ms to parse
MAX_INFLATED = 64 * MB
# pypdf's own limits while the check runs (its defaults are 75 MB per stream).
PYPDF_LIMITS = {
    "zlib_maximum_output_length": MAX_INFLATED,
    "lzw_maximum_output_length": MAX_INFLATED,
    "run_length_maximum_output_length": MAX_INFLATED,
    "brotli_maximum_output_length": MAX_INFLATED,
    "jbig2_maximum_output_length": MAX_INFLATED,
    "stream_decoding_work_maximum_length": 2 * MAX_INFLATED,
    "jbig2dec_binary": None,  # never start a program for a file under inspection
}
WHITESPACE = rb"[\x00\t\n\x0c\r ]"
# "12 0 obj", also with comments between the tokens ("12 0 %x\nobj"), matched backwards from
# each "obj" within HEADER_WINDOW bytes (scanning the whole file with it is slow on binary
# streams). Comments may not hold "%", so the pattern matches in one way only.
SEPARATOR = rb"(?:" + WHITESPACE + rb"|%[^\r\n%]*)+"
OBJECT_HEADER = re.compile(rb"(?<![0-9])\d{1,10}" + SEPARATOR + rb"\d{1,5}" + SEPARATOR + rb"obj\Z")
HEADER_WINDOW = 256
REGULAR = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.#-")
OBJECT_STREAM_HEADER = re.compile(rb"(\d+)\s+(\d+)")
SEPARATORS = re.compile(rb"(?:" + WHITESPACE + rb"|%[^\r\n]*)*")

# What each finding is called in the refusal.
ACTION_TYPES = {
    "/JavaScript": "JavaScript",
    "/Launch": "Launch",
    "/SubmitForm": "SubmitForm",
    "/ImportData": "ImportData",
    "/GoToR": "GoToR",
    "/GoToE": "GoToE",
    "/RichMediaExecute": "RichMedia",
    "/Rendition": "Rendition",
}
KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/AA": "AA",
    "/EmbeddedFiles": "EmbeddedFile",
    "/EF": "EmbeddedFile",
    "/XFA": "XFA",
    "/RichMediaContent": "RichMedia",
}
SUBTYPES = {
    "/FileAttachment": "EmbeddedFile",
    "/RichMedia": "RichMedia",
    "/3D": "RichMedia",
    "/Screen": "RichMedia",
}
TYPES = {"/EmbeddedFile": "EmbeddedFile"}


class Unreadable(Exception):
    """The file cannot be inspected; ``reason`` is the Chinese explanation."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


CORRUPT = "文件结构已损坏，无法解析"
ENCRYPTED = "文件已加密（设有打开密码），无法检查其内容"
TOO_COMPLEX = (
    f"文件对象过多（超过 {MAX_OBJECTS:,} 个）或压缩数据解压后过大（超过 {MAX_INFLATED // MB} MB）"
)


@dataclass
class _Inspection:
    reader: PdfReader
    findings: set[str] = field(default_factory=set)
    objects: int = 0
    inflated: int = 0

    def count(self) -> None:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise Unreadable(TOO_COMPLEX)

    def inflate(self, stream: StreamObject) -> bytes:
        data = stream.get_data()
        self.inflated += len(data)
        if self.inflated > MAX_INFLATED:
            raise Unreadable(TOO_COMPLEX)
        return data


def active_content(data: bytes) -> list[str]:
    """The kinds of active content in the PDF (``["JavaScript", "OpenAction"]``), empty
    when there is none; ``Unreadable`` when the file cannot be inspected."""
    with apply_configuration(**PYPDF_LIMITS):
        try:
            return sorted(_inspect(data))
        except Unreadable:
            raise
        except LimitReachedError as exc:  # pypdf's own bounds (PYPDF_LIMITS)
            raise Unreadable(TOO_COMPLEX) from exc
        except Exception as exc:
            # Whatever a malformed file makes the parser raise (its errors, assertions,
            # recursion on absurd nesting, an unknown security handler): not inspected, refused.
            raise Unreadable(CORRUPT) from exc


def _inspect(data: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise Unreadable(ENCRYPTED)
    if not isinstance(_resolved(reader.trailer.get("/Root")), DictionaryObject):
        raise Unreadable(CORRUPT)
    inspection = _Inspection(reader)
    listed = _current_revision(inspection)
    _everything_written(inspection, data, listed)
    return inspection.findings


def _current_revision(inspection: _Inspection) -> dict[int, int | None]:
    """Inspects the objects the cross-reference data lists. Returns their file offsets, each
    with where the object ends (None when it was read earlier, so its end is unknown)."""
    reader = inspection.reader
    ends: dict[int, int | None] = {}
    for generation, entries in reader.xref.items():
        for number, offset in list(entries.items()):
            if reader.xref_free_entry.get(generation, {}).get(number):
                continue
            known = reader.cache_get_indirect_object(generation, number) is not None
            found = reader.get_object(IndirectObject(number, generation, reader))
            ends[offset] = None if known else reader.stream.tell()
            _inspect_object(inspection, found)
    return ends


def _everything_written(
    inspection: _Inspection, data: bytes, listed: dict[int, int | None]
) -> None:
    """Inspects the objects found by their headers that the current revision does not list.

    A header may also be text inside another object (a string, a stream); so every header
    inside an object already read is skipped, and an object that does not parse is ignored.
    """
    stream = io.BytesIO(data)
    covered = 0
    for start, end in _object_headers(data):
        if start < covered:
            continue
        if listed.get(start):
            covered = listed[start]
            continue
        try:
            found = _read_at(stream, data, end, inspection.reader)
        except Exception:  # noqa: S112  not an object after all (see above)
            continue
        covered = stream.tell()
        if start in listed:
            continue  # inspected with the current revision
        if inspection.reader.is_encrypted and _is_object_stream(found):
            # Only the current revision's streams can be decrypted, so this one cannot be read.
            raise Unreadable(ENCRYPTED)
        _inspect_object(inspection, found)


def _object_headers(data: bytes) -> Iterator[tuple[int, int]]:
    """Where each ``N G obj`` header starts and ends, in file order."""
    position = 0
    while (at := data.find(b"obj", position)) >= 0:
        position = end = at + 3
        if data[at - 3 : at] == b"end" or (end < len(data) and data[end] in REGULAR):
            continue
        if header := OBJECT_HEADER.search(data, max(0, at - HEADER_WINDOW), end):
            yield header.start(), end


def _read_at(stream: io.BytesIO, data: bytes, position: int, reader: PdfReader) -> PdfObject:
    """The object starting at ``position`` or after whitespace and comments."""
    stream.seek(SEPARATORS.match(data, position).end())
    return read_object(stream, reader)


def _inspect_object(inspection: _Inspection, obj: PdfObject | None) -> None:
    inspection.count()
    for item in _direct_parts(obj):
        if isinstance(item, DictionaryObject):
            inspection.findings |= _dictionary_findings(inspection.reader, item)
    if _is_object_stream(obj):
        for contained in _stream_objects(inspection, obj):
            _inspect_object(inspection, contained)


def _direct_parts(obj: PdfObject | None) -> Iterator[PdfObject]:
    """The object and everything nested in it directly (references are inspected on their own)."""
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, DictionaryObject):
            yield item
            pending.extend(item.values())
        elif isinstance(item, ArrayObject):
            pending.extend(item)


def _dictionary_findings(reader: PdfReader, dictionary: DictionaryObject) -> set[str]:
    found = {label for key, label in KEYS.items() if key in dictionary}
    action = _resolved(dictionary.get("/S"))
    found |= {ACTION_TYPES[action]} if action in ACTION_TYPES else set()
    if action == "/URI" and _is_script_uri(_resolved(dictionary.get("/URI"))):
        found.add("JavaScript")
    found |= {SUBTYPES[s]} if (s := _resolved(dictionary.get("/Subtype"))) in SUBTYPES else set()
    found |= {TYPES[t]} if (t := _resolved(dictionary.get("/Type"))) in TYPES else set()
    # Opening at a page (a destination, or a GoTo action) is harmless; any other action is not.
    opening = _resolved(dictionary.get("/OpenAction"))
    if isinstance(opening, DictionaryObject) and _resolved(opening.get("/S")) != "/GoTo":
        found.add("OpenAction")
    return found


def _is_script_uri(uri: object) -> bool:
    text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri or "")
    return "".join(text.split()).lower().startswith("javascript:")


def _resolved(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _is_object_stream(obj: object) -> bool:
    return isinstance(obj, StreamObject) and _resolved(obj.get("/Type")) == "/ObjStm"


def _stream_objects(inspection: _Inspection, stream: StreamObject) -> Iterator[PdfObject]:
    """Every object packed in an object stream; an undecodable stream is refused."""
    data = inspection.inflate(stream)
    first = _resolved(stream.get("/First"))
    if not isinstance(first, int) or not 0 <= first <= len(data):
        raise Unreadable(CORRUPT)
    body = io.BytesIO(data)
    for match in OBJECT_STREAM_HEADER.finditer(data[:first]):
        yield _read_at(body, data, first + int(match.group(2)), inspection.reader)
