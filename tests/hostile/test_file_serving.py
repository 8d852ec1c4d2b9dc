"""Stored and generated files leave through one helper, ``core.files.send_file``.

Each download carries its stored type, ``X-Content-Type-Options: nosniff`` and
``Content-Disposition: attachment`` with an RFC 5987 ``filename*``; the only inline answers
are deliberate previews of PDFs and images, under a sandboxing Content-Security-Policy. A
record whose type a browser would render as a page (HTML, SVG) is downloaded, never shown.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from policywindow.applications.models import Material
from policywindow.core import csp, files
from tests.pdfs import minimal
from tests.workflow.test_approval_pages import people as people  # the fixture
from tests.workflow.test_approval_pages import two_level_case

SOURCE = Path(files.__file__).resolve().parents[1]
PDF = minimal("served")
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def stored(name: str, data: bytes):
    """A FieldFile of ``name`` saved under MEDIA_ROOT (no database row needed)."""
    field = Material._meta.get_field("file")
    saved = field.storage.save(name, ContentFile(data))
    return field.attr_class(Material(), field, saved)


def header(response, name: str) -> str:
    return response.headers.get(name, "")


@pytest.mark.parametrize(
    "source",
    ["FileResponse(", '["Content-Disposition"]', "content_disposition_header(", "as_attachment="],
)
def test_no_view_sends_a_file_but_through_send_file(source):
    """A new download that bypasses the helper would lose nosniff and the attachment rule."""
    offenders = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if path.name != "files.py" and source in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_a_download_is_an_attachment_with_its_type_nosniff_and_an_encoded_name(settings):
    response = files.send_file(stored("x.pdf", PDF), "研发费用“审计”报告.pdf", "application/pdf")
    assert header(response, "Content-Type") == "application/pdf"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    disposition = header(response, "Content-Disposition")
    assert disposition.startswith('attachment; filename="')
    assert "filename*=utf-8''%E7%A0%94%E5%8F%91" in disposition
    assert "Content-Security-Policy" not in response.headers
    assert b"".join(response.streaming_content) == PDF


def test_the_type_comes_from_the_stored_name_when_none_was_recorded():
    assert (
        header(files.send_file(stored("a.png", b"\x89PNG"), "图.png"), "Content-Type")
        == "image/png"
    )
    unknown = files.send_file(stored("a.bin", HTML), "说明.html")
    assert header(unknown, "Content-Type") == "application/octet-stream"
    assert header(unknown, "Content-Disposition").startswith("attachment")


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/octet-stream"],
)
def test_inline_is_refused_for_anything_but_pdf_and_images(content_type):
    response = files.send_file(HTML, "说明.html", content_type, inline=True)
    assert header(response, "Content-Disposition").startswith("attachment")
    assert header(response, "X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg"])
def test_an_image_preview_is_inline_in_a_sandbox(content_type):
    response = files.send_file(PDF, "预览", content_type, inline=True)
    assert header(response, "Content-Disposition").startswith("inline")
    policy = header(response, "Content-Security-Policy")
    assert policy.startswith("sandbox") and "default-src 'none'" in policy


def test_a_pdf_preview_keeps_the_framing_policy_of_every_pdf():
    """Chromium's PDF viewer draws nothing under ``sandbox``; csp.py gives PDFs framing only."""
    response = files.send_file(PDF, "预览", "application/pdf", inline=True)
    assert header(response, "Content-Disposition").startswith("inline")
    assert "Content-Security-Policy" not in response
    assert csp.policy_for(response) == "frame-ancestors 'none'"


def test_the_page_policy_keeps_a_stricter_policy_a_view_chose():
    preview = files.send_file(PDF, "预览", "image/png", inline=True)
    middleware = csp.ContentSecurityPolicyMiddleware(lambda request: preview)
    assert middleware(None)["Content-Security-Policy"] == files.PREVIEW_POLICY


def test_the_saved_name_ends_in_the_extension_of_its_type():
    response = files.send_file(PDF, "营业执照.html", "application/pdf")
    assert "filename*=utf-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.html.pdf" in header(
        response, "Content-Disposition"
    )


def test_a_name_cannot_break_out_of_the_header():
    response = files.send_file(PDF, 'a"\r\nSet-Cookie: x=1\\.pdf', "application/pdf")
    disposition = header(response, "Content-Disposition")
    assert "\r" not in disposition and "\n" not in disposition
    fallback = re.match(r'attachment; filename="([^"]*)";', disposition)
    assert fallback and '"' not in fallback[1] and "\\" not in fallback[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content_type", "inline"),
    [("审计报告.pdf", "application/pdf", True), ("页面.html", "text/html", False)],
)
def test_a_case_material_is_previewed_only_when_it_is_a_pdf(
    people, login, name, content_type, inline
):
    """A record typed as HTML (as an older version might have stored) is downloaded."""
    case = two_level_case(people)
    data = PDF if inline else HTML
    material = Material.objects.create(
        enterprise=case.enterprise,
        application=case,
        item_key="audit_report",
        file=SimpleUploadedFile("r.bin", data),
        original_name=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=people["applicant"],
    )
    preview = login(people["b"]).get(
        reverse("applications:review_material", args=[case.pk, material.pk])
    )
    assert header(preview, "Content-Type") == content_type
    assert header(preview, "X-Content-Type-Options") == "nosniff"
    assert header(preview, "Content-Disposition").startswith("inline" if inline else "attachment")
    download = login(people["applicant"]).get(
        reverse("applications:material_download", args=[material.pk])
    )
    assert header(download, "Content-Disposition").startswith("attachment")
    assert header(download, "X-Content-Type-Options") == "nosniff"
