"""Issue 17 in a real browser: a progress report reviewed through the bureau's drawn 督办审核
workflow. 大连海关 files a report, its 科长 approves it on the report page (牵头部门初审), the
bureau's 改革督办员 approves it (省营商局督办复核), and the department sees it 已采纳. The report
page with the workflow passes axe at 1400 px and does not scroll sideways on a 390 px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from policywindow.reforms.models import ProgressReport, ReformTask
from tests.reforms.conftest import (  # noqa: F401 (fixtures)
    department,
    options,
    org,
    programme,
    real_table,
    supervisor,
)
from tests.reforms.test_report_workflow import publish_review

from .conftest import assert_accessible, at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1400, "height": 900}


def decide_on_the_report(page: Page, report: ProgressReport, node: str, opinion: str) -> None:
    page.goto(f"/reforms/reports/{report.pk}/")
    form = page.get_by_test_id("decision-form")
    expect(form).to_contain_text(f"审批：{node}")
    form.get_by_label("通过", exact=True).check()
    form.get_by_label("审批意见").fill(opinion)
    form.get_by_test_id("decide").click()
    expect(page.locator(".alert-success")).to_contain_text(f"已通过：{node}")


def test_a_report_goes_through_both_levels_of_the_drawn_review(
    page_for,
    shot,
    make_user,
    org,  # noqa: F811
    programme,  # noqa: F811
    supervisor,  # noqa: F811
):
    reporter = make_user("dlhg", "reviewer", dept=org["DLHG"], real_name="秦海")
    chief = make_user("dlhg_chief", "section_chief", dept=org["DLHG"], real_name="于洋")
    publish_review(supervisor, org)
    task = ReformTask.objects.get(item__number=16, department=org["DLHG"], locality=org["DL-YSJ"])

    filing = page_for(reporter)
    filing.goto(f"/reforms/tasks/{task.pk}/")
    filing.get_by_test_id("report-create").click()
    filing.get_by_label("进展报告").check()
    filing.get_by_label("完成进度（%）").fill("50")
    filing.get_by_label("进展情况").fill("已完成作业流程改造，正在大窑湾口岸试运行。")
    filing.get_by_test_id("report-submit").click()
    expect(filing.locator(".alert-success")).to_contain_text("进入督办审核流程")
    report = ProgressReport.objects.get(task=task)
    expect(filing).to_have_url(at(f"/reforms/reports/{report.pk}/"))
    progress = filing.get_by_test_id("progress")
    expect(progress.locator('div.pw-node-card[data-node="lead_review"]')).to_have_attribute(
        "data-state", "current"
    )
    expect(progress.locator('div.pw-node-card[data-node="lead_review"]')).to_contain_text("于洋")
    expect(filing.get_by_test_id("decision-form")).to_have_count(0)

    approver = page_for(chief)
    approver.set_viewport_size(WIDE)
    approver.goto(f"/reforms/reports/{report.pk}/")
    expect(approver.get_by_test_id("diagram").locator("svg")).to_be_visible()
    shot(approver, "report-with-workflow-1400")
    assert_accessible(approver, "进展报告（审批人）")
    approver.set_viewport_size(PHONE)
    approver.reload()
    expect(approver.get_by_test_id("decision-form")).to_be_visible()
    assert approver.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(approver, "report-with-workflow-390")
    approver.set_viewport_size(WIDE)
    decide_on_the_report(approver, report, "牵头部门初审", "初审通过，数据属实。")
    expect(
        approver.get_by_test_id("progress").locator('div.pw-node-card[data-node="lead_review"]')
    ).to_have_attribute("data-state", "done")

    bureau = page_for(supervisor)
    decide_on_the_report(bureau, report, "省营商局督办复核", "成效明显，予以采纳。")
    shot(bureau, "adopted")

    filing.reload()
    expect(filing.get_by_test_id("report-body").locator("[data-status]").first).to_have_text(
        "已采纳"
    )
    expect(filing.get_by_test_id("instance-status")).to_have_text("审核通过")
    history = filing.get_by_test_id("report-history")
    expect(history).to_contain_text(
        re.compile("审批通过 · 牵头部门初审.*审批通过 · 省营商局督办复核", re.DOTALL)
    )
