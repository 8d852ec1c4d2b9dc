"""Issue 4 in a real browser: a policy administrator draws and publishes a rule's workflow — a
parallel level of two departments and a level that applies only to large amounts — and three
approvers take an accepted case through it to 审核通过."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.workflow.models import WorkflowDefinition
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
)

from .conftest import sidebar

pytestmark = pytest.mark.e2e


@pytest.fixture
def cast(make_department, make_user):
    tech, finance = make_department("省科技厅"), make_department("省财政厅")
    version = make_version(tech, title="研发费用后补助（审批演示）")
    applicant = make_user("qiye", "enterprise", kind="enterprise", real_name="企业李经办")
    enterprise = make_enterprise("沈阳审批演示装备有限公司")
    make_member(applicant, enterprise)
    return {
        "tech": tech,
        "finance": finance,
        "rule": version.rule,
        "version": version,
        "applicant": applicant,
        "enterprise": enterprise,
        "admin": make_user("zhengce", "policy_admin", real_name="政策刘一"),
        "clerk": make_user("chuangkou", "window_clerk", real_name="窗口张二"),
        "a": make_user("kjt_rev", "reviewer", dept=tech, real_name="科技周三"),
        "b": make_user("czt_rev", "reviewer", dept=finance, real_name="财政吴四"),
        "c": make_user("kjt_lead", "dept_leader", dept=tech, real_name="领导郑五"),
    }


def flash(page: Page):
    return page.locator(".alert").first


def draw_node(page: Page, level: int, index: int, name: str, department: int, role: str):
    node = page.locator(f'[data-editor-level="{level}"] [data-editor-node]').nth(index)
    node.locator('[data-field="name"]').fill(name)
    node.locator('[data-field="department"]').select_option(str(department))
    node.locator('[data-field="role"]').select_option(role)
    return node


def approve(page: Page, shot, number: str, step: str, **amount: str) -> None:
    """From 我的待办: open the case, approve with an opinion (and a lowered amount)."""
    sidebar(page).locator('a[data-menu="approval.todo"]').click()
    row = page.get_by_test_id("todo-table").locator(f'tr[data-number="{number}"]')
    expect(row).to_have_count(1)
    shot(page, f"{step}-todo")
    row.get_by_test_id("open-case").click()
    form = page.get_by_test_id("decision-form")
    form.get_by_label("通过").check()
    form.locator('textarea[name="opinion"]').fill(f"{step}：材料真实完整，同意。")
    if amount:
        form.locator('input[name="approved_amount"]').fill(amount["to"])
        form.locator('textarea[name="amount_reason"]').fill(amount["reason"])
    shot(page, f"{step}-decision")
    form.get_by_test_id("decide").click()
    expect(flash(page)).to_contain_text(number)
    shot(page, f"{step}-decided")


def test_draw_publish_and_approve_through_parallel_and_conditional_levels(page_for, cast, shot):
    # 1. The policy administrator draws the workflow and publishes it.
    admin = page_for(cast["admin"])
    admin.goto(f"/policy/workflows/{cast['rule'].pk}/")
    admin.on("dialog", lambda dialog: dialog.accept())  # "删除第 1 级…？"
    # Start from nothing: the rule's earlier one-node workflow goes.
    for _ in range(admin.get_by_test_id("level-remove").count()):
        admin.get_by_test_id("level-remove").first.click()
    expect(admin.get_by_test_id("level-remove")).to_have_count(0)
    admin.get_by_test_id("add-level").click()
    admin.locator('[data-editor-level="1"]').get_by_label("层级名称").fill("部门并联审核")
    draw_node(admin, 1, 0, "科技厅审核", cast["tech"].pk, "reviewer")
    admin.locator('[data-editor-level="1"]').get_by_test_id("add-node").click()
    draw_node(admin, 1, 1, "财政厅审核", cast["finance"].pk, "reviewer")
    admin.get_by_test_id("add-level").click()
    admin.locator('[data-editor-level="2"]').get_by_label("层级名称").fill("分管领导审批")
    leader = draw_node(admin, 2, 0, "分管领导审批", cast["tech"].pk, "dept_leader")
    leader.get_by_test_id("add-condition").click()
    leader.locator('[data-field="condition"]').fill("requested_amount > 1000000")
    preview = admin.get_by_test_id("designer-preview")
    expect(preview.locator("svg")).to_contain_text("分管领导审批（条件）")
    expect(preview).to_contain_text("财政厅审核")
    shot(admin, "workflow-drawn")
    admin.get_by_test_id("save-draft").click()
    expect(flash(admin)).to_contain_text("已保存工作流草稿（第 2 版）")
    admin.get_by_test_id("publish").click()
    expect(flash(admin)).to_contain_text("发布")
    shot(admin, "workflow-published")
    published = WorkflowDefinition.objects.get(rule=cast["rule"], status="published")
    assert published.version == 2
    assert [len(level["nodes"]) for level in published.spec["levels"]] == [2, 1]

    # 2. A case over 1,000,000 yuan is accepted at the window: the drawn workflow starts.
    case = make_case(cast["version"], cast["enterprise"], cast["applicant"])
    case.requested_amount = Decimal("2000000.00")
    case.save(update_fields=["requested_amount"])
    intake.accept(cast["clerk"], case, all_complete(case), expected_revision=case.revision)
    number = case.number

    # 3. Both departments approve in parallel (finance lowers the amount with a reason) ...
    approve(page_for(cast["a"]), shot, number, "tech")
    finance = page_for(cast["b"])
    approve(finance, shot, number, "finance", to="1800000", reason="部分费用不属于研发支出")
    finance.goto(f"/approvals/cases/{case.pk}/")  # after a decision the to-do list shows
    diagram = finance.get_by_test_id("diagram")
    expect(diagram.locator('[data-state="done"]')).to_have_count(2)
    expect(diagram.locator('[data-state="current"]')).to_have_count(1)
    shot(finance, "case-after-level-1")

    # 4. ... and the conditional leader level applies (2,000,000 > 1,000,000): the leader decides.
    leader_page = page_for(cast["c"])
    approve(leader_page, shot, number, "leader")
    leader_page.goto(f"/approvals/cases/{case.pk}/")
    expect(leader_page.get_by_test_id("instance-status")).to_have_text("审核通过")
    expect(leader_page.get_by_test_id("diagram").locator('[data-state="done"]')).to_have_count(3)
    shot(leader_page, "case-approved")

    case.refresh_from_db()
    assert case.status == S.APPROVED
    assert case.approved_amount == Decimal("1800000.00")
    timeline = list(case.events.values_list("action", flat=True))
    assert timeline[-4:] == [
        "review_approve",
        "review_approve",
        "review_approve",
        "review_approved",
    ]

    # 5. The enterprise sees the decision and the approved amount.
    enterprise = page_for(cast["applicant"])
    enterprise.goto(f"/portal/applications/{case.pk}/")
    expect(enterprise.get_by_test_id("case-status")).to_have_text("审核通过")
    expect(enterprise.get_by_test_id("approved-amount")).to_contain_text("1,800,000.00")
    shot(enterprise, "enterprise-sees-approval")
