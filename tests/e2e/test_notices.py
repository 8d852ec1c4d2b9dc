"""Notices in the browser: the clerk asks for 补正 at the window and prints the 补正告知书 from the
case page; the enterprise is told in its inbox (the clerk is not) and downloads the very same
PDF from its case."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from policywindow.applications.models import Application
from policywindow.system.models import User
from tests.applications.test_intake_factories import (
    make_case,
    make_enterprise,
    make_member,
    make_version,
)

from .conftest import at

pytestmark = pytest.mark.e2e

FIX = "请上传加盖会计师事务所公章的专项审计报告"


@pytest.fixture
def media_in_tmp_path(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "uploads"  # the live server runs in this process


@pytest.fixture
def filed(make_user, department, media_in_tmp_path) -> tuple[Application, User, User]:
    agent = make_user("tz_qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="吴经办")
    enterprise = make_enterprise("大连告知书端到端测试有限公司")
    make_member(agent, enterprise)
    clerk = make_user("tz_chuangkou", "window_clerk", real_name="窗口郑洁")
    case = make_case(
        make_version(department, title="研发费用后补助（端到端告知书）"), enterprise, agent
    )
    return case, agent, clerk


def text_of(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(
        "\n", ""
    )


def test_clerk_prints_the_supplement_notice_and_the_enterprise_downloads_it(
    page_for, live_server, shot, filed
):
    case, agent, clerk_user = filed

    # 1. The clerk marks one item 不符合 and sends the one-time notice; back on the case page.
    clerk = page_for(clerk_user)
    clerk.goto(f"/window/intake/{case.pk}/")
    row = clerk.get_by_test_id("answers").locator('tr[data-item="audit_report"]')
    row.get_by_text("不符合", exact=True).click()
    row.locator("#id_comment_audit_report").fill(FIX)
    clerk.get_by_test_id("supplement").click()
    expect(clerk).to_have_url(at(f"/window/intake/{case.pk}/"))
    link = clerk.get_by_test_id("print-supplement")
    expect(link).to_contain_text("补正告知书")
    shot(clerk, "intake-case-print")

    # 2. The print link opens the PDF: exactly that item, the deadline, the full status URL.
    printed = clerk.context.request.get(link.get_attribute("href"))
    assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
    assert printed.headers["content-disposition"].startswith("inline")
    text = text_of(printed.body())
    assert "补正告知书" in text and "研发费用专项审计报告" in text and FIX in text
    assert "研发项目名称" not in text  # only the item asked for
    assert f"{live_server.url}/status/?number={case.number}" in text

    # 3. The enterprise is told in its inbox; the clerk's inbox has nothing of it.
    enterprise = page_for(agent)
    enterprise.goto("/notifications/")
    expect(enterprise.locator("body")).to_contain_text(f"申报需补正：{case.number}")
    shot(enterprise, "inbox")
    clerk.goto("/notifications/")
    expect(clerk.locator("body")).not_to_contain_text(case.number)

    # 4. On its case page the enterprise downloads the very file the clerk printed.
    enterprise.goto(f"/portal/applications/{case.pk}/")
    documents = enterprise.get_by_test_id("case-documents")
    expect(documents).to_contain_text("补正告知书")
    expect(enterprise.get_by_test_id("respond-by")).to_be_visible()
    shot(enterprise, "case-documents")
    with enterprise.expect_download() as download:
        documents.get_by_test_id("doc-download-supplement").click()
    saved = Path(download.value.path()).read_bytes()
    assert saved == printed.body()
    assert download.value.suggested_filename == f"supplement-{case.number}.pdf"
