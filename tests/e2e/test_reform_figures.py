"""Issue 15 in a real browser: 改革任务总览's 已报送待审核 counts every report waiting for review —
also on tasks past their deadline — with its definition beside it, as many as the review queue
lists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.reforms.conftest import (  # noqa: F401 (fixtures)
    department,
    options,
    org,
    programme,
    real_table,
    supervisor,
)
from tests.reforms.test_figures import reported  # noqa: F401 (fixture)

from .conftest import sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_reform_overview_counts_every_report_waiting_for_review(
    page_for,
    shot,
    supervisor,  # noqa: F811
    reported,  # noqa: F811
):
    page = page_for(supervisor)
    sidebar(page).locator('a[data-menu="reform.programme"]').click()
    # Both waiting reports are on tasks past their deadline: still 2, not 0.
    expect(page.locator('[data-figure-value="awaiting_review"]')).to_have_text("2个")
    definition = page.locator('details[data-figure="awaiting_review"]')
    definition.locator("summary").click()
    expect(definition.get_by_test_id("figure-definition")).to_contain_text("含期限已过的任务")
    shot(page, "reform-overview")
    sidebar(page).locator('a[data-menu="reform.reviews"]').click()
    expect(page.get_by_test_id("review-queue").locator("tr[data-report]")).to_have_count(2)
