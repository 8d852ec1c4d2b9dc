"""The sidebar is drawn from the user's roles and follows a change on the next page load."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import sidebar, user_row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sidebar_follows_the_roles_granted(page_for, make_user, secadmin, shot):
    staff = make_user("qianqi", real_name="钱七")
    page = page_for(staff)
    nav = sidebar(page)
    expect(nav.get_by_role("link")).to_have_text(["工作台"])
    expect(nav).not_to_contain_text("系统管理")
    expect(page.locator("main")).to_contain_text("尚未分配角色，请联系安全管理员。")
    shot(page, "no-roles")

    security = page_for(secadmin)
    security.goto("/system/users/?q=qianqi")
    user_row(security, "qianqi").get_by_test_id("grant-role").click()
    security.get_by_label("窗口受理人员", exact=True).check()
    security.get_by_test_id("save-roles").click()
    expect(security.locator(".pw-messages")).to_contain_text("已为 钱七（qianqi） 分配角色")
    shot(security, "granted")

    page.reload()
    expect(nav.locator(".pw-nav-group", has_text="窗口受理")).to_be_visible()
    expect(nav.locator('a[data-menu="window.cases"]')).to_have_text("办件查询")
    expect(page.get_by_test_id("role-badge")).to_have_text(["窗口受理人员"])
    shot(page, "after-grant")
    nav.locator('a[data-menu="window.cases"]').click()
    expect(page.locator("h1.pw-title")).to_have_text("办件查询")
    shot(page, "case-list")
