"""Uploaded materials: random names under MEDIA_ROOT/materials/, SHA-256, sniffed type, clean names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from policywindow.applications.models import Material
from policywindow.applications.services import filing
from policywindow.core import files
from policywindow.system.models import User

from .test_filing_factories import (
    LICENSE,
    PDF,
    PNG,
    link,
    make_enterprise,
    make_rule,
    upload,
)


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/abs/path/营业执照.pdf", "营业执照.pdf"),
        ("..", "未命名文件"),
        ("", "未命名文件"),
        (".hidden.pdf", "hidden.pdf"),
        ('bad<>:"|?*\x00name.pdf', "badname.pdf"),
        ("长" * 250 + ".pdf", "长" * 187 + ".pdf"),
    ],
)
def test_original_names_are_cleaned(name, cleaned):
    assert files.clean_original_name(name) == cleaned


@pytest.mark.parametrize(
    ("content", "kind"),
    [(PDF, "pdf"), (PNG, "png"), (b"\xff\xd8\xff\xdb", "jpg"), (b"GIF89a", None), (b"", None)],
)
def test_sniffing_reads_the_first_bytes(content, kind):
    assert files.sniff(upload("x.bin", content)) == kind


def test_configured_type_names_are_normalised():
    assert files.normalise_types(["PDF", ".jpeg", "exe"]) == ("pdf", "jpg")
    assert files.normalise_types([]) == ("pdf", "jpg", "png")


@pytest.mark.django_db
def test_a_stored_file_gets_a_random_name_a_hash_and_its_real_type(make_user, department):
    user = make_user("up_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise()
    link(user, enterprise)
    application = filing.start_application(
        user, enterprise, make_rule(department, items=(LICENSE,))
    )
    filing.save_answers(user, application, {}, {"license": [upload("../../etc/passwd.pdf")]})
    material = Material.objects.get(application=application)
    stored = Path(material.file.path)
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT) / "materials")
    assert "passwd" not in stored.name and len(stored.stem) == 32 and stored.suffix == ".pdf"
    assert stored.read_bytes() == PDF
    assert material.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (material.original_name, material.content_type, material.size) == (
        "passwd.pdf",
        "application/pdf",
        len(PDF),
    )
    assert material.uploaded_by == user and material.enterprise == enterprise
