"""政策计算器 in the browser (issue 6): an enterprise sees what it qualifies for and files it.

The enterprise user opens the calculator from the sidebar, sees the eligible rule with its
expected amount, the not-eligible rule with the condition it fails and the rule it lacks data
for, clicks 立即申报 on the eligible one, fills the form and submits. A visitor uses the
public calculator with a few numbers.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.system.models import User
from tests.applications.test_filing_factories import RD_AMOUNT, link, make_enterprise, make_rule

from .conftest import sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent(make_user, department) -> User:
    make_rule(
        department,
        code="RD-CALC",
        title="研发费用后补助（计算器）",
        items=(RD_AMOUNT,),
        eligibility_expression="rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
    )
    make_rule(
        department,
        code="SCALE-CALC",
        title="规模企业奖励（计算器）",
        items=(RD_AMOUNT,),
        eligibility_expression="employees > 500 # 从业人员须超过 500 人",
        amount_formula="100000",
    )
    make_rule(
        department,
        code="EXPORT-CALC",
        title="出口信用保险保费补助（计算器）",
        items=(RD_AMOUNT,),
        eligibility_expression="export_value >= 1000000",
        amount_formula="export_value * 0.01",
    )
    enterprise = make_enterprise(
        "辽宁计算器科技有限公司", rd_spend=Decimal("4200000"), employees=120
    )
    user = make_user("calc_qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="李经办")
    link(user, enterprise)
    return user


def card(page, code: str):
    return page.get_by_test_id("matches").locator(f'[data-rule="{code}"]')


def test_enterprise_sees_its_matches_and_files_the_eligible_rule(page_for, agent, shot):
    page = page_for(agent)
    sidebar(page).locator('a[data-menu="portal.calculator"]').click()
    expect(page.locator("h1.pw-title")).to_contain_text("政策计算器")

    eligible = card(page, "RD-CALC")
    expect(eligible).to_have_attribute("data-status", "eligible")
    expect(eligible.get_by_test_id("amount")).to_have_text("420,000.00 元")
    failing = card(page, "SCALE-CALC")
    expect(failing.get_by_test_id("badge")).to_have_text("不符合条件")
    expect(failing.get_by_test_id("failures")).to_have_text("贵企业从业人员 120 人，须高于 500 人")
    expect(failing.get_by_test_id("apply")).to_have_count(0)
    expect(card(page, "EXPORT-CALC").get_by_test_id("unknowns")).to_have_text(
        "缺少数据：上年出口额"
    )
    expect(page.get_by_test_id("total-amount")).to_have_text("420,000.00 元")
    shot(page, "calculator")

    eligible.get_by_test_id("apply").click()
    expect(page.locator("h1.pw-title")).to_contain_text("研发费用后补助（计算器）")
    expect(page).to_have_url(re.compile(r"/portal/apply/\d+/$"))
    page.locator("#id_rd_amount").fill("4200000")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("submit").click()
    expect(page.locator("h1.pw-title")).to_have_text("申报已提交")
    shot(page, "submitted")
    application = Application.objects.get()
    assert (application.rule.code, application.status) == ("RD-CALC", S.SUBMITTED)
    assert application.requested_amount == Decimal("420000.00")

    page.goto("/portal/calculator/")
    expect(card(page, "RD-CALC")).to_contain_text(f"已申报 {application.number}")


def test_a_visitor_uses_the_public_calculator(page_for, agent, shot):
    page = page_for()
    page.goto("/policies/calculator/")
    page.locator("#id_rd_spend").fill("2400000")
    page.locator("#id_employees").fill("800")
    page.get_by_test_id("calculate").click()
    expect(card(page, "SCALE-CALC")).to_have_attribute("data-status", "eligible")
    expect(card(page, "RD-CALC").get_by_test_id("failures")).to_have_text(
        "贵企业上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元"
    )
    expect(card(page, "EXPORT-CALC").get_by_test_id("unknowns")).to_have_text(
        "缺少数据：上年出口额"
    )
    shot(page, "public-calculator")


def test_staff_run_matching_and_the_page_follows_its_progress(page_for, agent, make_user, shot):
    from policywindow.matching import services
    from policywindow.matching.models import MatchRun

    admin = make_user("calc_zcgl", "policy_admin", real_name="政策赵六")
    page = page_for(admin)
    sidebar(page).locator('a[data-menu="policy.matching"]').click()
    expect(page.locator("h1.pw-title")).to_have_text("政策匹配")
    shot(page, "run-list")
    page.get_by_test_id("run-start").click()
    expect(page.locator("h1.pw-title")).to_contain_text("匹配任务 #")
    expect(page.get_by_test_id("progress-bar")).to_have_text("0%")
    services.execute_run(MatchRun.objects.get().pk)  # what the worker does
    expect(page.get_by_test_id("progress-bar")).to_have_text("100%")  # refreshed by the page
    expect(page.locator('[data-field="status_label"]')).to_have_text("已完成")
    expect(page.locator('[data-field="pushed"]')).to_have_text("1")
    shot(page, "run-done")
    sidebar(page).locator('a[data-menu="policy.matching"]').click()
    expect(page.get_by_test_id("run-table")).to_contain_text("1 / 1（100%）")
    shot(page, "run-list-done")


def test_enterprise_is_told_of_an_auto_grant_and_declines_it(page_for, agent, department, shot):
    from policywindow.matching import services
    from policywindow.matching.models import MatchRun

    make_rule(
        department,
        code="AUTO-CALC",
        title="高新技术企业认定奖励（免申即享）",
        items=(),
        auto_grant=True,
        amount_formula="200000",
    )
    services.execute_run(services.create_run(None, trigger="manual").pk)
    assert MatchRun.objects.get().granted == 1
    page = page_for(agent)
    page.goto("/notifications/")
    page.get_by_text("免申即享：《高新技术企业认定奖励（免申即享）》已为贵企业自动立案").click()
    expect(page.locator("h1.pw-title")).to_contain_text("免申即享")
    expect(page.get_by_test_id("proof")).to_contain_text("上年研发费用")
    expect(page.get_by_test_id("case-status")).to_have_text("审核中")
    shot(page, "auto-grant")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("decline").click()
    expect(page.get_by_test_id("declined")).to_be_visible()
    expect(page.get_by_test_id("case-status")).to_have_text("已撤回")
    shot(page, "declined")
