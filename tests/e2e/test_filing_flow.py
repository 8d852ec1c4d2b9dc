"""One application end to end in the browser (issue 3): find, file, 补正, resubmit, accept, look up.

An enterprise user searches the public policy library, opens the rule's guide, files the one form
with a real PDF and submits; the window clerk returns it for 补正 on the audit report; the
enterprise re-uploads exactly that item and resubmits; the clerk accepts; the enterprise's
timeline shows every step and the public status page answers 审核中 without private data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from weasyprint import HTML

from policywindow.applications.models import Application, Material
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.codes import make_uscc
from policywindow.enterprises import services as enterprise_services
from policywindow.enterprises.models import Enterprise
from policywindow.policies import services as policy_services
from policywindow.policies.models import Rule
from policywindow.system.models import Department, User
from tests.applications.test_filing_factories import industry, region
from tests.workflow import factories as workflow_factories

from .conftest import at, sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RULE_CODE = "RD-E2E"
RULE_TITLE = "研发费用后补助（端到端测试）"
PROJECT = "高精度数控机床主轴研发"
FIX_COMMENT = "审计报告缺少会计师事务所盖章页，请上传盖章完整的报告"
BANK_ACCOUNT = "6222020200112233445"


@dataclass(frozen=True)
class Cast:
    enterprise: Enterprise
    agent: User
    clerk: User
    rule: Rule


@pytest.fixture
def media_in_tmp_path(settings, tmp_path: Path) -> None:
    # The live server runs in this process: its uploads follow the override.
    settings.MEDIA_ROOT = tmp_path / "uploads"


def publish_rule(department: Department, policy_admin: User) -> Rule:
    """A published policy with one published rule: a prefilled money item, a text, a PDF."""
    policy = policy_services.create_policy(
        policy_admin,
        title="辽宁省企业研发投入后补助实施办法（端到端测试）",
        doc_number="辽科发〔2026〕E2E号",
        issuing_department=department,
        summary="对上年研发投入达到规模的企业按研发费用给予后补助。",
    )
    rule = policy_services.create_rule(
        policy_admin,
        policy,
        code=RULE_CODE,
        title=RULE_TITLE,
        beneficiaries="在辽宁省内注册、上年研发费用不低于 300 万元的企业",
        conditions_text="上年研发费用不低于 300 万元，并提交研发费用专项审计报告",
        standard_text="按经审计的研发费用的 10% 给予补助，单个企业最高 50 万元",
        eligibility_expression="rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
        per_enterprise_cap=Decimal("500000"),
        lead_department=department,
        review_days=5,
    )
    version = rule.versions.get()  # the draft first version
    items = (
        {
            "key": "rd_audit",
            "label": "经审计的上年研发费用",
            "kind": "money",
            "prefill_source": "rd_spend",
            "section": "研发投入",
        },
        {"key": "project_name", "label": "主要研发项目名称", "kind": "text", "section": "研发投入"},
        {
            "key": "audit_report",
            "label": "研发费用专项审计报告",
            "kind": "file",
            "allowed_types": ["pdf"],
            "max_size_mb": 5,
            "max_files": 1,
            "material_code": "rd_audit_report",
        },
    )
    for item in items:
        policy_services.add_item(policy_admin, version, **item)
    # The formula names a form item, so it can only be set once the item exists.
    version = policy_services.update_version(policy_admin, version, amount_formula="rd_audit * 0.1")
    policy_services.publish_version(policy_admin, version)
    policy_services.publish_policy(policy_admin, policy)
    rule = Rule.objects.select_related("current").get(pk=rule.pk)
    workflow_factories.publish_single_reviewer(rule)  # accepting starts its review
    return rule


@pytest.fixture
def cast(make_user, department, media_in_tmp_path) -> Cast:
    # Reference rows: a transactional test starts from a flushed database.
    industry()
    region()
    clerk = make_user("chuangkou", "window_clerk", real_name="窗口王五")
    rule = publish_rule(department, make_user("zhengce", "policy_admin", real_name="政策赵六"))
    enterprise = enterprise_services.create_enterprise(
        clerk,
        {
            "credit_code": make_uscc("91210100MA0E2E001"),
            "name": "沈阳端到端精密机械有限公司",
            "legal_representative": "张法人",
            "industry": "39",
            "region": "210100",
            "employees": 120,
            "revenue": Decimal("50000000"),
            "total_assets": Decimal("80000000"),
            "rd_spend": Decimal("4000000"),
            "contact_name": "李经办",
            "bank_name": "中国工商银行沈阳分行",
            "bank_account": BANK_ACCOUNT,
        },
    )
    agent = make_user("qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="李经办")
    enterprise_services.link_member(clerk, enterprise, agent.username)
    return Cast(enterprise, agent, clerk, rule)


def pdf_file(folder: Path, name: str, heading: str) -> Path:
    """A small real PDF (WeasyPrint, CJK font) to upload."""
    html = (
        "<body style=\"font-family: 'Noto Sans CJK SC'\">"
        f"<h1>{heading}</h1><p>沈阳端到端精密机械有限公司 2025 年度研发费用 4,000,000.00 元</p></body>"
    )
    path = folder / name
    path.write_bytes(HTML(string=html).write_pdf())
    return path


def open_as(page_for, user: User | None, problems: list[str]) -> Page:
    """A page whose script errors are collected, with Bootstrap's transitions off so that a
    screenshot taken right after a click shows the final state, not a fading button."""
    page = page_for(user)
    page.emulate_media(reduced_motion="reduce")
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    return page


def flash(page: Page):
    return page.locator(".pw-messages")


def accept_confirm(page: Page) -> None:
    """The next confirm() (提交申报) is answered 确定."""
    page.once("dialog", lambda dialog: dialog.accept())


def item_row(page: Page, key: str):
    return page.get_by_test_id("answers").locator(f'tr[data-item="{key}"]')


def open_from_queue(page: Page, number: str) -> None:
    sidebar(page).locator('a[data-menu="window.intake"]').click()
    expect(page.locator("h1.pw-title")).to_contain_text("受理队列")
    page.get_by_test_id("intake-queue").locator(f'tr[data-number="{number}"]').get_by_test_id(
        "intake-open"
    ).click()
    expect(page.locator("h1.pw-title")).to_contain_text("受理审查")
    expect(page.get_by_test_id("case-number")).to_have_text(number)


def test_enterprise_files_clerk_returns_for_fix_then_accepts(page_for, cast, shot, tmp_path):
    report = pdf_file(tmp_path, "研发费用专项审计报告.pdf", "研发费用专项审计报告")
    stamped = pdf_file(
        tmp_path, "研发费用专项审计报告（盖章版）.pdf", "研发费用专项审计报告（盖章页）"
    )
    problems: list[str] = []

    # 1. The enterprise user finds the rule in the public library and files the form.
    agent = open_as(page_for, cast.agent, problems)
    agent.goto("/policies/")
    agent.get_by_test_id("public-search").fill("研发费用")
    agent.get_by_test_id("public-search").press("Enter")
    expect(agent).to_have_url(at("/policies/?q=%E7%A0%94%E5%8F%91%E8%B4%B9%E7%94%A8"))
    expect(agent.get_by_test_id("policy-cards")).to_contain_text("研发投入后补助实施办法")
    matching = agent.get_by_test_id("matching-rules").get_by_role(
        "link", name=re.compile(RULE_TITLE)
    )
    expect(matching).to_be_visible()
    shot(agent, "library-search")

    matching.click()
    expect(agent).to_have_url(at(f"/policies/rules/{RULE_CODE}/"))
    expect(agent.get_by_test_id("guide")).to_contain_text("按经审计的研发费用的 10% 给予补助")
    expect(agent.get_by_test_id("required-items")).to_contain_text("研发费用专项审计报告")
    expect(agent.get_by_test_id("window-state")).to_be_visible()
    shot(agent, "rule-guide")

    agent.get_by_test_id("apply-now").click()  # a link: the rule in the catalogue, nothing made
    expect(agent.get_by_test_id("apply")).to_have_count(1)
    agent.get_by_test_id("apply").click()
    expect(agent.locator("h1.pw-title")).to_contain_text(RULE_TITLE)
    expect(agent.get_by_test_id("apply-enterprise")).to_have_text(cast.enterprise.name)
    expect(agent.locator("#id_rd_audit")).to_have_value("4000000.00")  # prefilled from 企业信息
    expect(agent.locator('[data-item="rd_audit"]')).to_contain_text("已根据企业信息预填")
    shot(agent, "form-prefilled")

    agent.locator("#id_project_name").fill(PROJECT)
    agent.locator("#id_audit_report").set_input_files(report)
    agent.get_by_test_id("save-draft").click()
    expect(flash(agent)).to_contain_text("草稿已保存")
    expect(agent.locator("#id_project_name")).to_have_value(PROJECT)
    expect(agent.get_by_test_id("offers-audit_report")).to_contain_text(report.name)
    precheck = agent.get_by_test_id("precheck")
    expect(precheck).to_have_attribute("data-status", "eligible")
    expect(agent.get_by_test_id("precheck-badge")).to_have_text("可申报")
    expect(agent.get_by_test_id("precheck-amount")).to_contain_text("400,000.00")
    shot(agent, "draft-saved-precheck")

    # The pre-check follows the form (htmx) before anything is saved.
    agent.locator("#id_rd_audit").fill("3600000")
    agent.locator("#id_rd_audit").press("Tab")
    expect(agent.get_by_test_id("precheck-amount")).to_contain_text("360,000.00")
    shot(agent, "precheck-follows-form")

    accept_confirm(agent)
    agent.get_by_test_id("submit").click()
    expect(agent.locator("h1.pw-title")).to_have_text("申报已提交")
    year = timezone.localdate().year
    number_cell = agent.get_by_test_id("application-number")
    expect(number_cell).to_have_text(re.compile(rf"^ZC{year}\d{{6}}$"))
    number = number_cell.inner_text()
    expect(agent.get_by_test_id("case-status")).to_have_text("待受理")
    shot(agent, "submitted")
    receipt = agent.request.get(agent.get_by_test_id("receipt").get_attribute("href"))
    assert receipt.ok and receipt.headers["content-type"] == "application/pdf"
    assert receipt.body().startswith(b"%PDF-")
    application = Application.objects.get(number=number)
    assert application.status == S.SUBMITTED
    assert application.requested_amount == Decimal("360000.00")
    assert application.answers["project_name"] == PROJECT

    # 2. The clerk returns it for 补正: the audit report does not conform.
    clerk = open_as(page_for, cast.clerk, problems)
    open_from_queue(clerk, number)
    expect(item_row(clerk, "project_name")).to_contain_text(PROJECT)
    expect(item_row(clerk, "audit_report")).to_contain_text(report.name)
    shot(clerk, "intake-case")
    row = item_row(clerk, "audit_report")
    row.get_by_text("不符合", exact=True).click()
    row.locator("#id_comment_audit_report").fill(FIX_COMMENT)
    for key in ("rd_audit", "project_name"):
        item_row(clerk, key).get_by_text("齐全", exact=True).click()
    shot(clerk, "supplement-chosen")
    clerk.get_by_test_id("supplement").click()
    # Back on the case, with the 补正告知书 to print and hand over.
    expect(clerk).to_have_url(at(f"/window/intake/{application.pk}/"))
    expect(flash(clerk)).to_contain_text(f"已向企业一次性告知申报 {number} 需补正的全部事项")
    expect(clerk.get_by_test_id("print-supplement")).to_contain_text("补正告知书")
    sidebar(clerk).locator('a[data-menu="window.intake"]').click()
    expect(
        clerk.get_by_test_id("intake-queue").locator(f'tr[data-number="{number}"]')
    ).to_have_count(0)
    shot(clerk, "queue-after-supplement")

    # 3. The enterprise sees exactly that item with the clerk's comment, re-uploads, resubmits.
    sidebar(agent).locator('a[data-menu="portal.mine"]').click()
    mine = agent.get_by_test_id("my-applications").locator(
        f'tr[data-application="{application.pk}"]'
    )
    expect(mine.get_by_test_id("case-status")).to_have_text("待补正")
    shot(agent, "my-applications-supplement")
    mine.get_by_role("link", name=number).click()
    notice_rows = agent.get_by_test_id("supplement-items").locator("tbody tr")
    expect(notice_rows).to_have_count(1)
    expect(notice_rows.first).to_have_attribute("data-item", "audit_report")
    expect(notice_rows.first).to_contain_text("研发费用专项审计报告")
    expect(notice_rows.first).to_contain_text(FIX_COMMENT)
    shot(agent, "supplement-notice")

    agent.get_by_test_id("supplement-notice").get_by_test_id("resubmit").click()
    expect(agent.locator("h1.pw-title")).to_contain_text("补正材料")
    form_items = agent.locator("#apply-form [data-item]")
    expect(form_items).to_have_count(1)
    expect(form_items.first).to_have_attribute("data-item", "audit_report")
    offers = agent.get_by_test_id("offers-audit_report")
    offers.get_by_role("checkbox").uncheck()
    agent.locator("#id_audit_report").set_input_files(stamped)
    shot(agent, "supplement-form")
    agent.locator("#apply-form").get_by_test_id("resubmit").click()
    expect(flash(agent)).to_contain_text(f"补正材料已提交（申报编号 {number}）")
    expect(agent.get_by_test_id("case-status")).to_have_text("待受理")
    expect(item_row(agent, "audit_report")).to_contain_text(stamped.name)
    expect(item_row(agent, "audit_report")).not_to_contain_text(report.name)
    shot(agent, "resubmitted")
    attached = Material.objects.filter(application=application, item_key="audit_report")
    assert [m.original_name for m in attached] == [stamped.name]

    # 4. The clerk accepts: every item 齐全; the case goes to 审核中 with a due date.
    open_from_queue(clerk, number)
    expect(clerk.get_by_test_id("notices")).to_contain_text(FIX_COMMENT)
    clerk.get_by_test_id("all-complete").click()
    expect(clerk.locator("input[type=radio][value=complete]:checked")).to_have_count(3)
    shot(clerk, "accept-checklist")
    clerk.get_by_test_id("accept").click()
    expect(flash(clerk)).to_contain_text(f"已受理申报 {number}，进入审核")
    shot(clerk, "accepted")

    application.refresh_from_db()
    assert application.status == S.IN_REVIEW and application.due_at is not None
    agent.reload()
    expect(agent.get_by_test_id("case-status")).to_have_text("审核中")
    expect(agent.get_by_test_id("due-date")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    timeline = agent.get_by_test_id("timeline").locator("li[data-action]")
    expect(timeline.last).to_have_attribute("data-action", "review_start")
    steps = timeline.evaluate_all("els => els.map(e => e.dataset.action)")
    assert [a for a in steps if a != "save_draft"] == [
        "create",
        "submit",
        "supplement",
        "resubmit",
        "accept",
        "review_start",
    ]
    expect(agent.get_by_test_id("timeline")).to_contain_text(FIX_COMMENT)
    expect(agent.get_by_test_id("timeline")).to_contain_text("窗口王五")
    shot(agent, "timeline-in-review")

    # The public status page (no sign-in): 审核中, dates only.
    visitor = open_as(page_for, None, problems)
    # The receipt's QR code leads here with the number filled in; the visitor adds the code.
    visitor.goto(f"/status/?number={number}")
    expect(visitor.locator("#id_number")).to_have_value(number)
    shot(visitor, "status-from-receipt-qr")
    visitor.locator("#id_credit_code").fill(cast.enterprise.credit_code)
    visitor.get_by_test_id("status-submit").click()
    expect(visitor.get_by_test_id("status-label")).to_have_text("审核中")
    result = visitor.get_by_test_id("status-result")
    expect(result).to_contain_text(number)
    for private in (
        cast.enterprise.name,
        PROJECT,
        "360,000",
        BANK_ACCOUNT[-4:],
        "窗口王五",
        "李经办",
        FIX_COMMENT,
    ):
        expect(visitor.locator("body")).not_to_contain_text(private)
    shot(visitor, "public-status")

    assert problems == []
