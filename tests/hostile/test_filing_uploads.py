"""Hostile files through the enterprise's 申报材料 upload: the one-form page and the API.

Each is refused with a Chinese message on the file item (page) or in the structured error
body (API), and nothing reaches the upload directory.
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


@pytest.mark.parametrize(
    ("sent_name", "kept_name"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\System32\\drivers\\etc\\hosts.pdf", "hosts.pdf"),
        ("/var/www/html/shell.php.pdf", "shell.php.pdf"),
        ("C:\\Users\\张三\\Desktop\\营业执照.pdf", "营业执照.pdf"),
        ("evil\x00.php.pdf", "evil.php.pdf"),
        ("..%2f..%2fescape.pdf", "%2f..%2fescape.pdf"),  # stays a name, never decoded
    ],
)
def test_path_names_never_choose_where_a_file_is_stored(sent_name, kept_name, draft, login):
    """Browsers send only the last path segment, and old ones the whole Windows path: the
    directory part is dropped (by Django's parser, then by core.files), control characters
    removed, and the file stored under a random name below MEDIA_ROOT/materials."""
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
