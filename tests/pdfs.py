"""Real PDFs for tests, written byte by byte: ordinary ones and hostile ones (not a test module).

``document`` writes a classic file (objects, cross-reference table, trailer); ``packed`` puts
objects into an object stream listed by a cross-reference stream, encoded with any chain of
filters; ``updated`` appends an incremental update. Object 1 is always the catalog.
"""

from __future__ import annotations

import base64
import io
import re
import zlib

from pypdf import PdfReader, PdfWriter

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"
ORDINARY = {1: CATALOG, 2: PAGES, 3: PAGE}


def page_with(extra: bytes) -> bytes:
    """The page dictionary with more entries (``/Annots [...]``, ``/AA <<…>>``)."""
    return PAGE[:-2] + b" " + extra + b" >>"


def catalog_with(extra: bytes) -> bytes:
    return CATALOG[:-2] + b" " + extra + b" >>"


def document(objects: dict[int, bytes] | None = None, *, note: str = "") -> bytes:
    """A PDF of the given objects (the ordinary one-page document by default); ``note`` ends
    up in a comment, so that two files can differ."""
    objects = {**ORDINARY, **(objects or {})}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    if note:
        out += b"% " + note.encode() + b"\n"
    offsets = _write_objects(out, objects)
    return bytes(_classic_xref(out, offsets, size=max(objects) + 1))


def minimal(note: str = "") -> bytes:
    """The smallest ordinary PDF: one empty page."""
    return document(note=note)


def _write_objects(out: bytearray, objects: dict[int, bytes]) -> dict[int, int]:
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return offsets


def _classic_xref(
    out: bytearray, offsets: dict[int, int], *, size: int, prev: int | None = None
) -> bytearray:
    start = len(out)
    out += b"xref\n"
    if prev is None:
        out += b"0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            if number in offsets:
                out += b"%010d 00000 n \n" % offsets[number]
            else:
                out += b"0000000000 65535 f \n"
    else:
        for number, offset in sorted(offsets.items()):
            out += b"%d 1\n%010d 00000 n \n" % (number, offset)
    previous = b" /Prev %d" % prev if prev is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (size, previous)
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return out


def updated(base: bytes, objects: dict[int, bytes]) -> bytes:
    """``base`` with an incremental update that replaces or adds ``objects``."""
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    out = bytearray(base)
    offsets = _write_objects(out, objects)
    return bytes(_classic_xref(out, offsets, size=max(size, max(objects) + 1), prev=prev))


# Encoders for the filters an object stream may use (each the inverse of the PDF filter).
ENCODERS = {
    "/FlateDecode": zlib.compress,
    "/ASCIIHexDecode": lambda data: data.hex().encode() + b">",
    "/ASCII85Decode": lambda data: base64.a85encode(data) + b"~>",
    "/RunLengthDecode": lambda data: (
        b"".join(bytes([len(chunk) - 1]) + chunk for chunk in _chunks(data, 128)) + b"\x80"
    ),
}


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def packed(
    compressed: dict[int, bytes],
    direct: dict[int, bytes] | None = None,
    *,
    filters: tuple[str, ...] = ("/FlateDecode",),
) -> bytes:
    """A PDF 1.5 whose ``compressed`` objects live in an object stream (encoded by
    ``filters``, first filter applied last) and are listed by a cross-reference stream."""
    direct = {number: body for number, body in ({**ORDINARY, **(direct or {})}).items()}
    for number in compressed:
        direct.pop(number, None)
    stream_number = max([*direct, *compressed]) + 1
    xref_number = stream_number + 1
    bodies, index, position = [], [], 0
    for number, body in sorted(compressed.items()):
        index.append(b"%d %d" % (number, position))
        bodies.append(body)
        position += len(body) + 1
    header = b" ".join(index) + b"\n"
    content = header + b"\n".join(bodies) + b"\n"
    for name in reversed(filters):
        content = ENCODERS[name](content)
    names = b" ".join(name.encode() for name in filters)
    direct[stream_number] = (
        b"<< /Type /ObjStm /N %d /First %d /Filter [%s] /Length %d >>\nstream\n"
        % (len(compressed), len(header), names, len(content))
        + content
        + b"\nendstream"
    )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = _write_objects(out, direct)
    size = xref_number + 1
    rows = []
    for number in range(size):
        if number in offsets:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00")
        elif number in compressed:
            slot = sorted(compressed).index(number)
            rows.append(b"\x02" + stream_number.to_bytes(4, "big") + slot.to_bytes(2, "big"))
        elif number == xref_number:
            rows.append(b"\x01" + len(out).to_bytes(4, "big") + b"\x00\x00")
        else:
            rows.append(b"\x00" * 7)
    table = b"".join(rows)
    start = len(out)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_number, size, len(table))
        + table
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


def encrypted(data: bytes, *, user_password: str, algorithm: str = "AES-128") -> bytes:
    """``data`` encrypted by pypdf; an empty user password opens it without asking."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def with_attachment(data: bytes) -> bytes:
    """``data`` with an embedded file (pypdf's own writer: a catalog EmbeddedFiles tree)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
