"""Disbursed cases to archive: reviewed for real (tests.fundforms), a fund approval form
issued, materials uploaded, then moved 公示通过 → 待拨付 → 已拨付 through the transitions
table — the same moves finance's disbursement makes, so these cases work with or without it."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from policywindow.applications import transitions
from policywindow.applications.models import Application, Material
from policywindow.applications.models import ApplicationStatus as S
from policywindow.fundforms import services as fundforms
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures, used here too
    _signing_key_in_scratch,
    make_approved,
    people,
    signing_dir,
)

# Two files under the same (unsafe) name, and one more: bytes chosen to be recognisable.
MATERIALS = (
    ("../../etc/审计报告.pdf", b"%PDF-1.4 audit report one\n" + bytes(range(256)) * 40),
    ("审计报告.pdf", b"%PDF-1.4 audit report two\n" + b"\x00\xff" * 3000),
    ("研发项目立项书.docx", b"PK\x03\x04 project charter " + b"x" * 5000),
)


def attach_materials(case: Application) -> list[Material]:
    materials = []
    for name, data in MATERIALS:
        material = Material(
            enterprise=case.enterprise,
            application=case,
            item_key="audit_report",
            original_name=name,
            content_type="application/pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=case.applicant,
        )
        material.file.save("upload.bin", ContentFile(data), save=False)
        material.save()
        materials.append(material)
    case.answers = {**case.answers, "audit_report": [m.pk for m in materials]}
    case.save(update_fields=["answers"])
    return materials


def disburse(case: Application, actor) -> Application:
    """公示通过 → 待拨付 → 已拨付, as the finance steps move it."""
    with transaction.atomic():
        locked = transitions.lock(case.pk)
        transitions.move(locked, S.IN_FINANCE, actor=actor, action="finance_submit")
        transitions.move(locked, S.DISBURSED, actor=actor, action="disburse", note="已拨付")
    case.refresh_from_db()
    return case


@pytest.fixture
def make_disbursed(people, make_approved):  # noqa: F811
    def make(name: str = "沈阳新松测试机器人自动化股份有限公司", *, form: bool = True):
        case = make_approved(name)
        attach_materials(case)
        if form:
            fundforms.issue_batch(people["admin"], [case.pk])
        return disburse(case, people["finance_officer"])

    return make


@pytest.fixture
def disbursed(make_disbursed) -> Application:
    return make_disbursed()
