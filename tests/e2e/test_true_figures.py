"""Issue 15 in a real browser: figures that are true, with their definitions beside them, and the
routes that reach the right people.

- The bureau's data board counts a case still in review past its deadline against 一周办结按期率
  and explains each figure (口径, plain HTML, opens without script).
- An enterprise's calculator counts an exclusion group once and offers no 立即申报 on the rule
  it rules out; 政策申报 says 互斥不可申报 beside a rule its group's application excludes.
- The policy office sees a node whose approver can no longer decide as 卡住 in 部门待办 and on the
  case page.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from policywindow.applications.models import ApplicationStatus as S
from policywindow.policies.models import Rule
from policywindow.system.models import User
from tests.applications.test_filing_factories import link, make_enterprise, make_rule
from tests.applications.test_intake_factories import make_case
from tests.dashboard.conftest import clock, province  # noqa: F401 (fixtures)
from tests.workflow.conftest import people  # noqa: F401 (fixture)
from tests.workflow.test_approval_pages import two_level_case

from .conftest import sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_board_counts_an_overdue_open_case_and_explains_each_figure(page_for, shot, province):  # noqa: F811
    page = page_for(province["bureau"])
    sidebar(page).locator('a[data-menu="stats.dashboard"]').click()
    # 省科技厅's case in review since March (due 28 March) is late: 2 of 4 due cases on time.
    expect(page.locator('[data-kpi="on_time_rate"]')).to_have_text("50.0%")
    expect(page.locator('[data-kpi="open_overdue"]')).to_have_text("1")
    definition = page.locator('details[data-figure="on_time_rate"]')
    expect(definition.get_by_test_id("figure-definition")).to_be_hidden()
    definition.locator("summary").click()
    expect(definition.get_by_test_id("figure-definition")).to_be_visible()
    expect(definition).to_contain_text("至统计时仍在审核的案件（超期未办结，计为未按期）")
    for key in ("total", "approved", "approved_amount", "budget", "avg_days"):
        expect(page.locator(f'details[data-figure="{key}"] summary')).to_have_text("口径")
    shot(page, "on-time-rate-explained")


@pytest.fixture
def group_agent(make_user, department) -> User:
    make_rule(
        department,
        code="GQ-BIG",
        title="高新技术企业认定奖励（互斥）",
        items=(),
        exclusion_group="gq",
    )
    make_rule(
        department,
        code="GQ-SMALL",
        title="高新技术企业重新认定奖励（互斥）",
        items=(),
        amount_formula="rd_spend * 0.05",
        exclusion_group="gq",
    )
    enterprise = make_enterprise("辽宁互斥测试科技有限公司", rd_spend=Decimal("4000000"))
    user = make_user("gq_qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="王经办")
    link(user, enterprise)
    return user


def test_the_calculator_counts_an_exclusion_group_once(page_for, shot, group_agent):
    page = page_for(group_agent)
    sidebar(page).locator('a[data-menu="portal.calculator"]').click()
    matches = page.get_by_test_id("matches")
    best, ruled_out = (
        matches.locator('[data-rule="GQ-BIG"]'),
        matches.locator('[data-rule="GQ-SMALL"]'),
    )
    expect(best.get_by_test_id("amount")).to_have_text("400,000.00 元")
    expect(ruled_out.get_by_test_id("badge")).to_have_text("互斥不计入")
    expect(ruled_out.get_by_test_id("excluded")).to_contain_text("高新技术企业认定奖励（互斥）")
    expect(ruled_out.get_by_test_id("apply")).to_have_count(0)
    expect(page.get_by_test_id("total-amount")).to_have_text("400,000.00 元")  # not 600,000.00
    shot(page, "calculator-exclusion")

    enterprise = group_agent.enterprise_membership.enterprise
    make_case(Rule.objects.get(code="GQ-BIG").current, enterprise, group_agent, status=S.SUBMITTED)
    page.goto("/portal/apply/")
    card = page.get_by_test_id("rule-catalog").locator('[data-rule="GQ-SMALL"]')
    expect(card.get_by_test_id("badge")).to_have_text("互斥不可申报")
    expect(card.get_by_test_id("excluded")).to_contain_text("贵企业本年度已申报同一互斥组")
    expect(card.get_by_test_id("apply")).to_have_count(0)
    shot(page, "catalog-exclusion")


def test_the_policy_office_sees_a_stuck_node(page_for, shot, people, make_user):  # noqa: F811
    office = make_user("zcdx_e2e", "policy_admin", "section_chief", real_name="刘晓梅")
    case = two_level_case(people)
    people["b"].is_active = False  # the finance approver left after the case started
    people["b"].save(update_fields=["is_active"])
    page = page_for(office)
    sidebar(page).locator('a[data-menu="approval.queue"]').click()
    page.get_by_test_id("stuck-filter").check()
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    rows = page.get_by_test_id("queue-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("stuck")).to_have_text("卡住")
    expect(rows.first.get_by_test_id("waiting")).to_contain_text("财政审核员（无审批权限或已停用）")
    shot(page, "queue-stuck")
    rows.first.get_by_role("link", name="查看").click()
    expect(page.locator('[data-node="finance"] [data-testid="node-stuck"]')).to_contain_text(
        "财政审核员"
    )
    assert case.number in page.content()
    shot(page, "case-stuck")
