"""Issue 6 in a real browser: a department head opens the 数据看板 from the sidebar, sees the
charts drawn (ECharts canvases, no console errors), narrows the period and exports Excel."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.dashboard.conftest import clock, province  # noqa: F401 (fixtures)

from .conftest import sidebar

pytestmark = pytest.mark.e2e

CHARTS = ("month", "stage_share", "department", "timeliness", "rule", "city", "budget")


def test_department_head_reads_filters_and_exports_the_board(page_for, shot, province):  # noqa: F811
    page = page_for(province["tech_leader"])
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))

    sidebar(page).locator('a[data-menu="stats.dashboard"]').click()
    expect(page.locator("h1.pw-title")).to_contain_text("政策兑现数据看板")
    for chart in ("month", "stage_share", "department", "timeliness", "budget"):
        expect(page.locator(f'[data-chart="{chart}"] canvas')).to_have_count(1)
    expect(page.locator('[data-kpi="total"]')).to_contain_text("3")  # 省科技厅's own cases only
    expect(page.get_by_test_id("board-period")).to_contain_text("省科技厅")
    # A tooltip opens under the Content-Security-Policy (page_for fails on a violation).
    page.locator('[data-chart="month"] canvas').hover()
    shot(page, "board")

    page.locator("#f-start").fill("2026-03-01")
    page.locator("#f-end").fill("2026-03-31")
    with page.expect_navigation():
        page.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("board-period")).to_contain_text("2026-03-01 至 2026-03-31")
    expect(page.locator('[data-kpi="total"]')).to_contain_text("2")
    page.get_by_test_id("by-department-tab").click()
    expect(page.get_by_test_id("by-department").locator('tr[data-row="省科技厅"]')).to_be_visible()
    shot(page, "march")

    with page.expect_download() as download:
        page.get_by_test_id("board-export").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames[0] == "概览"
    lines = {row[0]: row[1] for row in book["概览"].iter_rows(values_only=True) if row[0]}
    assert lines["统计期间"].startswith("2026-03-01 至 2026-03-31")
    assert lines["申报件数"] == 2
    for chart in CHARTS:
        expect(page.locator(f'[data-chart="{chart}"]')).to_have_count(1)
    assert errors == []
