"""Phone-sized pages (issue 15): the public pages and the whole enterprise portal at 390×844.

On a phone nothing scrolls sideways, the navigation folds behind a toggler (the public navbar,
the portal's offcanvas sidebar) and its links work, list tables become cards whose cells name
their column, forms are one column with their buttons on screen, and the one form and the
补正 page take a photo or a PDF from the phone (``accept`` names image types, no ``capture``).
The same pages at 1280 px keep the desktop layout: sidebar beside the content, tables as tables.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake, numbering
from policywindow.archives.models import Archive
from policywindow.enterprises.models import Enterprise
from policywindow.finance.models import PublicityEntry
from policywindow.finance.services import publicity
from policywindow.matching import services as matching
from policywindow.matching.models import AutoGrant
from policywindow.policies.models import Rule
from policywindow.system.models import User
from tests.applications.test_filing_factories import (
    CONTACT,
    LICENSE,
    PDF,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
)
from tests.applications.test_intake_factories import all_complete, make_case

from .conftest import at, sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
RULE_CODE = "PHONE-RD"
# The licence may be a photo: PDF or images, as most items are. The two answers share a section
# (two columns on a desktop, one on a phone).
PHOTO_LICENSE = {**LICENSE, "allowed_types": ["pdf", "jpg", "png"]}
ITEMS = (PHOTO_LICENSE, RD_AMOUNT, {**CONTACT, "section": RD_AMOUNT["section"]})
FIX_COMMENT = "营业执照副本照片不清晰，请重新拍照上传"


@dataclass(frozen=True)
class World:
    agent: User
    enterprise: Enterprise
    rule: Rule
    reviewing: Application
    waiting: Application
    entry: PublicityEntry
    grant: AutoGrant


@pytest.fixture
def world(make_user, department, settings, tmp_path) -> World:
    """One enterprise with a case in review, one waiting for 补正, one in publicity, one
    archived and a 免申即享 grant; and a rule it has not filed yet."""
    settings.MEDIA_ROOT = tmp_path / "uploads"  # the live server runs in this process
    clerk = make_user("phone_clerk", "window_clerk", real_name="窗口王")
    admin = make_user("phone_admin", "policy_admin", real_name="孙政策")
    agent = make_user("phone_qiye", "enterprise", kind=User.Kind.ENTERPRISE, real_name="李经办")
    enterprise = make_enterprise("沈阳掌上精密机械制造有限公司", rd_spend=Decimal("4200000"))
    link(agent, enterprise)
    rule = make_rule(department, code=RULE_CODE, title="研发费用后补助（手机申报）", items=ITEMS)
    filed = make_rule(department, code="PHONE-FILED", title="科技创新券兑付", items=ITEMS)

    def case(status: str = S.SUBMITTED) -> Application:
        with transaction.atomic():
            application = make_case(filed.current, enterprise, agent, status=status)
            # Numbered by the service, as the grant and the submission below will be.
            application.answers = {"license": [], "rd_amount": "4200000.00", "contact": "李四"}
            numbering.save_numbered(application, ["answers"])
        return application

    reviewing = case()
    reviewing = intake.accept(
        clerk, reviewing, all_complete(reviewing), expected_revision=reviewing.revision
    )
    waiting = case()
    waiting = intake.request_supplement(
        clerk,
        waiting,
        [{"key": "license", "comment": FIX_COMMENT}],
        expected_revision=waiting.revision,
    )
    approved = case(S.APPROVED)
    approved.approved_amount = Decimal("300000.00")
    approved.save(update_fields=["approved_amount"])
    publicity.publish(admin, [approved.pk], "2026年第9批政策兑现审核结果公示（手机测试）", 5)
    archived = case(S.DISBURSED)
    archived.approved_amount = Decimal("150000.00")
    archived.save(update_fields=["approved_amount"])
    Archive.objects.create(
        application=archived,
        file=ContentFile(b"PK\x05\x06" + b"\x00" * 18, name="archive.zip"),
        sha256="a" * 64,
        size=22,
        file_count=4,
        archived_by=admin,
        archived_at=timezone.now() - dt.timedelta(days=1),
    )
    make_rule(
        department,
        code="PHONE-AUTO",
        title="高新技术企业认定奖励（免申即享）",
        items=(),
        auto_grant=True,
        amount_formula="200000",
    )
    matching.execute_run(matching.create_run(None, trigger="manual").pk)  # grants, pushes
    return World(
        agent,
        enterprise,
        rule,
        reviewing,
        waiting,
        PublicityEntry.objects.get(application=approved),
        AutoGrant.objects.get(),
    )


def photo(folder: Path) -> Path:
    """A JPEG as a phone camera names it."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 150)).save(buffer, "JPEG")
    path = folder / "IMG_20261208_093015.jpeg"
    path.write_bytes(buffer.getvalue())
    return path


def pdf(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(PDF)
    return path


def open_at(page_for, size: dict[str, int], user: User | None = None) -> Page:
    page = page_for(user)
    page.set_viewport_size(size)
    page.emulate_media(reduced_motion="reduce")  # Bootstrap's menus open without a transition
    return page


def visit(page: Page, path: str) -> None:
    page.goto(path)
    expect(page).to_have_url(at(path))


@pytest.fixture
def snap(shot):
    """A full-page screenshot taken from the top (the sticky header where it belongs)."""

    def take(page: Page, step: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, step)

    return take


def assert_fits(page: Page) -> None:
    """Nothing wider than the screen: the page never scrolls sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def cell_layout(cell: Locator) -> dict[str, str]:
    return cell.evaluate(
        """td => ({display: getComputedStyle(td).display,
                   label: getComputedStyle(td, '::before').content,
                   right: td.getBoundingClientRect().right})"""
    )


def expect_cards(table: Locator, label: str) -> None:
    """The table's rows are cards: the header row out of sight, each cell names its column."""
    cell = table.locator(f'tbody td[data-label="{label}"]').first
    expect(cell).to_be_visible()
    expect(table.locator("thead th").first).not_to_be_in_viewport()
    layout = cell_layout(cell)
    assert layout["display"] == "block" and layout["label"] == f'"{label}"', layout
    assert layout["right"] <= PHONE["width"], layout


def expect_table(table: Locator, label: str) -> None:
    """A desktop table: header shown, cells in columns, no label drawn into them."""
    expect(table.locator("thead th").first).to_be_visible()
    layout = cell_layout(table.locator(f'tbody td[data-label="{label}"]').first)
    assert layout["display"] == "table-cell" and layout["label"] == "none", layout


def test_public_pages_fit_a_phone_with_a_folding_menu(page_for, world, snap):
    page = open_at(page_for, PHONE)
    visit(page, "/policies/")
    assert_fits(page)
    menu_link = page.get_by_test_id("public-status-link")
    expect(menu_link).to_be_hidden()
    snap(page, "policies")
    page.get_by_test_id("nav-toggler").click()
    expect(menu_link).to_be_visible()
    expect(page.get_by_test_id("public-login")).to_be_visible()
    assert_fits(page)
    snap(page, "menu-open")
    menu_link.click()
    expect(page).to_have_url(at("/status/"))
    expect(page.get_by_test_id("public-status-link")).to_be_hidden()  # folded again

    page.locator("#id_number").fill(world.reviewing.number)
    page.locator("#id_credit_code").fill(world.enterprise.credit_code)
    page.get_by_test_id("status-submit").click()
    expect(page.get_by_test_id("status-label")).to_have_text("审核中")
    assert_fits(page)
    snap(page, "status")

    visit(page, f"/policies/{world.rule.policy_id}/")
    assert_fits(page)
    snap(page, "policy")
    visit(page, f"/policies/rules/{RULE_CODE}/")
    expect(page.get_by_test_id("apply-now")).to_be_in_viewport()  # no empty box pushes it down
    assert_fits(page)
    snap(page, "guide")

    visit(page, "/policies/calculator/")
    page.locator("#id_rd_spend").fill("4200000")
    page.get_by_test_id("calculate").click()
    expect(page.get_by_test_id("matches").locator(f'[data-rule="{RULE_CODE}"]')).to_have_attribute(
        "data-status", "eligible"
    )
    assert_fits(page)
    snap(page, "calculator")

    visit(page, "/publicity/")
    entries = page.get_by_test_id("public-entries")
    expect(entries).to_contain_text(world.enterprise.name)
    expect_cards(entries, "企业名称")
    assert_fits(page)
    snap(page, "publicity")
    entries.get_by_test_id("object").click()
    expect(page).to_have_url(at(f"/publicity/{world.entry.pk}/objection/"))
    expect(page.get_by_test_id("objection-target")).to_contain_text(world.enterprise.name)
    assert_fits(page)
    snap(page, "objection")

    visit(page, "/login/")
    expect(page.get_by_test_id("login-submit")).to_be_in_viewport()
    assert_fits(page)
    snap(page, "login")


PORTAL_PAGES = (
    ("space", "/portal/space/", "法人空间"),
    ("catalog", "/portal/apply/", "政策申报"),
    ("calculator", "/portal/calculator/", "政策计算器"),
    ("mine", "/portal/applications/", "我的申报"),
    ("archives", "/portal/archives/", "办结档案"),
    ("enterprise", "/portal/enterprise/", "企业信息"),
    ("enterprise-edit", "/portal/enterprise/edit/", "修改企业信息"),
    ("inbox", "/notifications/", "消息中心"),
)


def test_the_enterprise_portal_fits_a_phone(page_for, world, snap):
    page = open_at(page_for, PHONE, world.agent)
    expect(page).to_have_url(at("/portal/space/"))
    nav = sidebar(page)
    expect(nav).to_be_hidden()  # folded away, the content has the whole width
    expect(page.locator("main")).to_have_js_property("clientWidth", PHONE["width"])
    page.get_by_test_id("nav-toggler").click()
    expect(nav).to_be_visible()
    snap(page, "menu-open")
    nav.locator('a[data-menu="portal.mine"]').click()
    expect(page).to_have_url(at("/portal/applications/"))
    expect(nav).to_be_hidden()

    for name, path, title in PORTAL_PAGES:
        visit(page, path)
        expect(page.locator("h1.pw-title")).to_contain_text(title)
        assert_fits(page)
        snap(page, name)
        if name == "space":
            expect_cards(page.get_by_test_id("space-cases"), "申报编号")
            expect_cards(page.get_by_test_id("space-documents"), "文书")
        elif name == "mine":
            expect_cards(page.get_by_test_id("my-applications"), "状态")
        elif name == "archives":
            expect_cards(page.get_by_test_id("my-archive-table"), "归档包")
        elif name == "enterprise":
            expect_cards(page.get_by_test_id("member-table"), "姓名")
        elif name == "inbox":  # a message's text has the card's width, its time goes below
            text = page.get_by_test_id("inbox").locator("[data-notification] .flex-grow-1").first
            assert text.bounding_box()["width"] >= PHONE["width"] - 100

    visit(page, f"/portal/auto-grants/{world.grant.pk}/")
    expect(page.get_by_test_id("proof")).to_contain_text("上年研发费用")
    expect(page.get_by_test_id("decline")).to_be_visible()
    assert_fits(page)
    snap(page, "auto-grant")

    visit(page, f"/portal/applications/{world.reviewing.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li[data-action]").last).to_have_attribute(
        "data-action", "review_start"
    )
    expect(page.get_by_test_id("due-date")).to_be_visible()
    assert_fits(page)
    snap(page, "case")


def test_the_one_form_and_its_supplement_on_a_phone(page_for, world, snap, tmp_path):
    page = open_at(page_for, PHONE, world.agent)
    visit(page, "/portal/apply/")
    rule_card = page.get_by_test_id("rule-catalog").locator(f'[data-rule="{RULE_CODE}"]')
    rule_card.get_by_test_id("apply").click()
    expect(page.locator("h1.pw-title")).to_contain_text("研发费用后补助（手机申报）")
    assert_fits(page)

    # One column: each item below the last, as wide as the form.
    boxes = [
        page.locator(f'#apply-form [data-item="{k}"]').bounding_box()
        for k in ("rd_amount", "contact")
    ]
    assert boxes[0]["x"] == boxes[1]["x"] and boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
    assert boxes[1]["width"] >= PHONE["width"] - 80

    # The phone offers its camera and its files: image and PDF types, no forced camera.
    upload = page.locator("#id_license")
    accept = upload.get_attribute("accept").split(",")
    assert {".jpeg", "image/jpeg", "image/png", ".pdf", "application/pdf"} <= set(accept)
    assert upload.get_attribute("capture") is None and upload.get_attribute("multiple") is None
    expect(page.locator("#id_contact")).to_have_value("李四")  # prefilled
    page.locator("#id_rd_amount").fill("4200000")
    camera_shot = photo(tmp_path)
    upload.set_input_files(camera_shot)
    snap(page, "form-filled")

    save = page.get_by_test_id("save-draft")
    save.scroll_into_view_if_needed()
    expect(save).to_be_in_viewport()
    save.click()
    expect(page.locator(".pw-messages")).to_contain_text("草稿已保存")
    expect(page.get_by_test_id("offers-license")).to_contain_text(camera_shot.name)
    assert_fits(page)
    submit = page.get_by_test_id("submit")
    submit.scroll_into_view_if_needed()
    expect(submit).to_be_in_viewport()
    snap(page, "draft-saved")
    page.once("dialog", lambda dialog: dialog.accept())
    submit.click()
    expect(page.locator("h1.pw-title")).to_have_text("申报已提交")
    assert_fits(page)
    snap(page, "submitted")
    filed = Application.objects.get(rule=world.rule)
    assert filed.status == S.SUBMITTED
    assert [m.original_name for m in filed.materials.all()] == [camera_shot.name]

    # 补正 from the phone: the notice, then a new file for exactly that item.
    visit(page, f"/portal/applications/{world.waiting.pk}/")
    notice = page.get_by_test_id("supplement-notice")
    expect(notice).to_contain_text(FIX_COMMENT)
    assert_fits(page)
    snap(page, "supplement-notice")
    notice.get_by_test_id("resubmit").click()
    expect(page).to_have_url(at(f"/portal/apply/{world.waiting.pk}/supplement/"))
    assert_fits(page)
    page.locator("#id_license").set_input_files(pdf(tmp_path, "营业执照（副本）.pdf"))
    snap(page, "supplement-form")
    page.locator("#apply-form").get_by_test_id("resubmit").click()
    expect(page.locator(".pw-messages")).to_contain_text("补正材料已提交")
    expect(page.get_by_test_id("case-status")).to_have_text("待受理")
    assert_fits(page)
    snap(page, "resubmitted")


def test_desktop_keeps_its_layout(page_for, world, snap):
    """At 1280 px: no toggler, the sidebar and the public links in place, tables as tables."""
    visitor = open_at(page_for, DESKTOP)
    visit(visitor, "/publicity/")
    expect(visitor.get_by_test_id("nav-toggler")).to_be_hidden()
    expect(visitor.get_by_test_id("public-status-link")).to_be_visible()
    expect_table(visitor.get_by_test_id("public-entries"), "企业名称")
    snap(visitor, "publicity")

    page = open_at(page_for, DESKTOP, world.agent)
    expect(page.get_by_test_id("nav-toggler")).to_be_hidden()
    nav = sidebar(page)
    expect(nav).to_be_visible()
    nav_box, main_box = nav.bounding_box(), page.locator("main").bounding_box()
    assert nav_box["x"] + nav_box["width"] <= main_box["x"]  # beside the content, not over it
    expect(page.get_by_test_id("user-menu")).to_contain_text("李经办")
    expect_table(page.get_by_test_id("space-cases"), "申报编号")
    snap(page, "space")
    nav.locator('a[data-menu="portal.mine"]').click()
    expect_table(page.get_by_test_id("my-applications"), "状态")
    snap(page, "mine")
    visit(page, f"/portal/applications/{world.reviewing.pk}/")
    snap(page, "case")
    visit(page, "/portal/apply/")
    page.get_by_test_id("rule-catalog").locator(f'[data-rule="{RULE_CODE}"]').get_by_test_id(
        "apply"
    ).click()
    items = [
        page.locator(f'#apply-form [data-item="{k}"]').bounding_box()
        for k in ("rd_amount", "contact")
    ]
    assert items[0]["y"] == items[1]["y"]  # two columns side by side
    snap(page, "form")
