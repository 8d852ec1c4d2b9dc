"""Hostile files through the enterprise's 申报材料 upload: the one-form page and the API.

Each is refused with a Chinese message on the file item (page) or in the structured error
body (API), and nothing reaches the upload directory. A file name that tries path traversal
refuses the whole request (400) before the body reaches a view's form.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from policywindow.applications.models import Material
from policywindow.applications.services import filing
from policywindow.core.models import AuditEvent
from policywindow.system.models import User
from tests.applications.test_filing_factories import link, make_enterprise, make_rule

from .payloads import HOSTILE, PDF, field_errors, raw_multipart, stored_files

pytestmark = pytest.mark.django_db

LIMIT_MB = 2
EVIDENCE = {
    "key": "evidence",
    "label": "佐证材料",
    "kind": "file",
    "allowed_types": ["pdf", "docx", "xlsx"],
    "max_size_mb": LIMIT_MB,
    "max_files": 3,
    "section": "申报材料",
}


@pytest.fixture
def draft(make_user, department):
    member = make_user("hostile_ent", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise()
    link(member, enterprise)
    rule = make_rule(department, items=(EVIDENCE,))
    return member, filing.start_application(member, enterprise, rule)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_the_form_page_refuses_on_the_field_and_stores_nothing(hostile, draft, login):
    member, application = draft
    response = login(member).post(
        reverse("applications:apply_form", args=[application.pk]),
        {"evidence": hostile.upload(LIMIT_MB)},
    )
    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "evidence")
    assert any(hostile.reason in error for error in errors), errors
    assert stored_files() == [] and not Material.objects.exists()


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_the_api_refuses_with_a_structured_error_and_stores_nothing(hostile, draft, login):
    member, application = draft
    audit_before = AuditEvent.objects.count()
    response = login(member).post(
        f"/api/v1/applications/{application.pk}/materials",
        {"item": "evidence", "files": [hostile.upload(LIMIT_MB)]},
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and body["message"]
    assert any(hostile.reason in message for message in body["details"]["evidence"]), body
    assert stored_files() == [] and not Material.objects.exists()
    assert AuditEvent.objects.count() == audit_before


TRAVERSAL_NAMES = [
    "../../etc/passwd.pdf",
    "..\\..\\Windows\\System32\\drivers\\etc\\hosts.pdf",
    "uploads/../../x.pdf",
    "&#46;&#46;/x.pdf",  # Django's parser html-unescapes the name to ../x.pdf
    "&#46;&#46;&#47;x.pdf",
    "evil\x00/x.pdf",  # a control character disguising a path
]


@pytest.mark.parametrize("sent_name", TRAVERSAL_NAMES)
def test_a_traversal_name_is_refused_and_nothing_is_stored(sent_name, draft, login):
    """A name that climbs directories is an attack, not a browser's habit: refused outright
    (400 with the reason) rather than silently cut to its last segment."""
    member, application = draft
    audit_before = AuditEvent.objects.count()
    body, content_type = raw_multipart({"item": "evidence"}, [("files", sent_name, PDF)])
    response = login(member).generic(
        "POST", f"/api/v1/applications/{application.pk}/materials", body, content_type
    )
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["code"] == "bad_request"
    assert "路径跳转" in error["message"] and "请将文件改名后重新上传" in error["message"]
    assert stored_files() == [] and not Material.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "materials").exists()
    assert AuditEvent.objects.count() == audit_before


def test_the_refusal_names_the_file_as_sent(draft, login):
    member, application = draft
    body, content_type = raw_multipart(
        {"item": "evidence"}, [("files", "../../etc/passwd.pdf", PDF)]
    )
    response = login(member).generic(
        "POST", f"/api/v1/applications/{application.pk}/materials", body, content_type
    )
    assert response.json()["message"] == (
        "文件名“../../etc/passwd.pdf”含有路径跳转（..），不能上传；请将文件改名后重新上传"
    )


def test_an_rfc2231_encoded_traversal_name_is_refused(draft, login):
    """``filename*=UTF-8''..%2F..`` is percent-decoded by Django before the name is checked."""
    member, application = draft
    body, content_type = raw_multipart({"item": "evidence"}, [("files", "x.pdf", PDF)])
    body = body.replace(b'filename="x.pdf"', b"filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.pdf")
    response = login(member).generic(
        "POST", f"/api/v1/applications/{application.pk}/materials", body, content_type
    )
    assert response.status_code == 400, response.content
    assert "“../../etc/passwd.pdf”含有路径跳转" in response.json()["message"]
    assert stored_files() == [] and not Material.objects.exists()


@pytest.mark.parametrize("csrf_checked", [False, True], ids=["view_parses", "csrf_parses"])
def test_the_form_page_refuses_a_traversal_name_with_an_error_page(csrf_checked, draft, login):
    """On a page the refusal is the 400 error page with the reason, never a traceback —
    whether the view or CsrfViewMiddleware's token check reads the body first."""
    member, application = draft
    audit_before = AuditEvent.objects.count()
    client = login(member)
    client.handler.enforce_csrf_checks = csrf_checked
    page_url = reverse("applications:apply_form", args=[application.pk])
    assert client.get(page_url).status_code == 200  # sets the CSRF cookie, as a browser has it
    body, content_type = raw_multipart({}, [("evidence", "..\\..\\营业执照.pdf", PDF)])
    response = client.generic("POST", page_url, body, content_type)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "文件名“..\\..\\营业执照.pdf”含有路径跳转（..），不能上传" in page
    assert 'data-testid="error-message"' in page and "Traceback" not in page
    assert stored_files() == [] and not Material.objects.exists()
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize(
    ("sent_name", "kept_name"),
    [
        ("/var/www/html/shell.php.pdf", "shell.php.pdf"),
        ("C:\\Users\\张三\\Desktop\\营业执照.pdf", "营业执照.pdf"),
        ("evil\x00.php.pdf", "evil.php.pdf"),
        ("..%2f..%2fescape.pdf", "%2f..%2fescape.pdf"),  # stays a name, never decoded
        ("年度..报告.pdf", "年度..报告.pdf"),  # two dots inside a name climb nothing
    ],
)
def test_path_names_never_choose_where_a_file_is_stored(sent_name, kept_name, draft, login):
    """Browsers send only the last path segment, and old ones the whole Windows path: such a
    name is accepted, its directory part dropped (by Django's parser, then by core.files),
    control characters removed, and the file stored under a random name below
    MEDIA_ROOT/materials."""
    member, application = draft
    body, content_type = raw_multipart({"item": "evidence"}, [("files", sent_name, PDF)])
    response = login(member).generic(
        "POST", f"/api/v1/applications/{application.pk}/materials", body, content_type
    )
    assert response.status_code == 201, response.content
    material = Material.objects.get()
    assert material.original_name == kept_name
    (stored,) = stored_files()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT) / "materials")
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", stored.name)
    assert stored.read_bytes() == PDF
