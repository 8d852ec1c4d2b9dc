"""改革任务督办 in the browser, under the Content-Security-Policy: the overview's chart and task
bars, the programme switch and the print page's buttons (page_for fails on a violation)."""

from __future__ import annotations

import re

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

from .conftest import at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_overview_chart_bars_and_print_page_work_under_the_policy(
    page_for,
    supervisor,  # noqa: F811 (the fixture imported above)
    programme,  # noqa: F811
    shot,
):
    page = page_for(supervisor)
    page.goto("/reforms/")
    expect(page.locator("#rf-department-chart svg")).to_have_count(1)
    page.locator("#rf-department-chart svg").hover()  # a tooltip, drawn in the chart
    # Bar widths arrive as data-width and are applied by app.js through the CSSOM.
    segment = page.locator(".rf-bar span[data-width]").first
    expect(segment).to_have_attribute("style", re.compile(r"width: \d+(\.\d+)?%"))
    shot(page, "overview")

    page.goto("/reforms/print/")
    expect(page.get_by_test_id("print-stats")).to_be_visible()
    shot(page, "print")
    page.get_by_role("button", name="返回").click()
    expect(page).to_have_url(at("/reforms/"))
