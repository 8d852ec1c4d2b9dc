"""回执 PDF: the number, the enterprise, the amount and the materials, with a status QR code."""

from __future__ import annotations

import io
import subprocess
from decimal import Decimal

import pytest
from django.conf import settings
from pypdf import PdfReader

from policywindow.applications.receipt import render_receipt, status_url
from policywindow.applications.services import filing
from policywindow.system.models import User
from tests.pdf_fonts import _own_fontconfig, without_cjk_fonts  # noqa: F401

from .test_filing_factories import (
    LICENSE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(make_user, department):
    user = make_user("rc_qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="赵经办")
    enterprise = make_enterprise("营口测试新材料股份有限公司")
    link(user, enterprise)
    rule = make_rule(department, code="RD-RC", items=(LICENSE, RD_AMOUNT))
    application = filing.start_application(user, enterprise, rule)
    filing.save_answers(
        user, application, {"rd_amount": "3500000"}, {"license": [upload("营业执照副本.pdf")]}
    )
    return filing.submit(user, application)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_receipt_names_the_number_enterprise_amount_and_materials(submitted):
    pdf = render_receipt(submitted, base_url="https://zwfw.example.gov.cn/")
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert submitted.requested_amount == Decimal("400000.00")
    for expected in (
        "申报回执",
        submitted.number,
        "营口测试新材料股份有限公司",
        submitted.enterprise.credit_code,
        "400,000.00 元",
        "营业执照副本.pdf",
        settings.POLICYWINDOW_ORG_NAME,
    ):
        assert expected in text, expected


def test_the_content_is_deterministic(submitted):
    assert _text(render_receipt(submitted)) == _text(render_receipt(submitted))


def test_an_accepted_application_gets_a_受理回执(submitted):
    from django.utils import timezone

    submitted.accepted_at = timezone.now()
    assert "受理回执" in _text(render_receipt(submitted))


def test_the_qr_code_points_at_the_public_status_page(submitted):
    assert status_url(submitted) == f"/status/?number={submitted.number}"
    assert (
        status_url(submitted, "https://zwfw.example.gov.cn/")
        == f"https://zwfw.example.gov.cn/status/?number={submitted.number}"
    )


def test_the_receipt_renders_to_an_image(submitted, tmp_path):
    source = tmp_path / "receipt.pdf"
    source.write_bytes(render_receipt(submitted, base_url="https://zwfw.example.gov.cn/"))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(source), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000


def test_without_cjk_fonts_the_receipt_page_says_so_and_serves_no_pdf(
    submitted,
    without_cjk_fonts,  # noqa: F811
    login,
    caplog,
):
    """A machine without fonts-noto-cjk where ``npm ci`` never ran: no receipt of empty boxes;
    the page and the log say which characters lack a font and what to install."""
    page = login(submitted.applicant).get(f"/applications/{submitted.pk}/receipt/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert f"申报回执 {submitted.number} 未生成" in text and "npm ci" in text
    assert "系统内部错误" not in text
    assert any(
        r.levelname == "ERROR" and submitted.number in r.getMessage() for r in caplog.records
    )
