"""Excel export from 企业管理, 办件查询 and 操作日志: filter the list, click 导出 Excel, and the
file holds exactly the rows the page lists."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from policywindow.applications.models import ApplicationStatus as S
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER_ROW = 5  # title, filters, who/when/count, blank, then the header


def download(page: Page, testid: str) -> tuple[list[str], list[list]]:
    """Click the export button; (the lines above the table, the rows) of the file."""
    with page.expect_download() as caught:
        page.get_by_test_id(testid).click()
    path = caught.value.path()
    assert caught.value.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(path.read_bytes())).active.iter_rows(values_only=True))
    return [row[0] for row in rows[:3]], [list(row) for row in rows[HEADER_ROW:]]


def test_a_clerk_exports_the_filtered_enterprises_and_cases(page_for, make_user, department, shot):
    clerk = make_user("export_clerk", "window_clerk", real_name="窗口张")
    applicant = make_user("export_qiye", "enterprise", kind="enterprise")
    version = make_version(department)
    kept = make_enterprise("沈阳导出浏览器测试有限公司")
    make_enterprise("大连其他企业有限公司")
    in_review = make_case(version, kept, applicant, status=S.IN_REVIEW)
    make_case(version, kept, applicant, status=S.SUBMITTED)

    page = page_for(clerk)
    page.goto("/enterprises/")
    page.locator("#f-q").fill("导出浏览器")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("enterprise-table").locator("tbody tr")).to_have_count(1)
    shot(page, "enterprises-filtered")
    note, rows = download(page, "enterprise-export")
    assert note[1] == "查询条件：关键字：导出浏览器" and "导出人：窗口张" in note[2]
    assert [row[0] for row in rows] == ["沈阳导出浏览器测试有限公司"]

    page.goto("/window/cases/")
    page.locator("#f-status").select_option(S.IN_REVIEW)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("case-table").locator("tbody tr")).to_have_count(1)
    note, rows = download(page, "case-export")
    assert note[1] == "查询条件：状态：审核中"
    assert [row[0] for row in rows] == [in_review.number]


def test_the_auditor_exports_the_log_and_finds_the_export_in_it(page_for, auditor, shot):
    page = page_for(auditor)
    page.goto("/audit/operlog/")
    note, _rows = download(page, "operlog-export")
    assert note[0] == "操作日志" and note[1] == "查询条件：全部"
    page.reload()
    first = page.get_by_test_id("operlog-table").locator("tbody tr").first
    expect(first).to_contain_text("导出操作日志")
    shot(page, "log-after-export")
