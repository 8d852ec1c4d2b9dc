"""User administration in the browser: 新增用户, 分配角色, first sign-in, 三员分立."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from policywindow.system.models import User

from .conftest import at, field_error, sidebar, submit_login, user_row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INITIAL_PASSWORD = "Welcome@2026"
NEW_PASSWORD = "Granted#Pass2027"


def open_role_page(page: Page, user: User) -> None:
    """From 用户管理, follow the user's 分配角色 link."""
    page.goto(f"/system/users/?q={user.username}")
    user_row(page, user.username).get_by_test_id("grant-role").click()
    expect(page).to_have_url(at(f"/system/users/{user.pk}/roles/"))
    expect(page.locator("h1.pw-title")).to_have_text(f"分配角色：{user}")


def fill_new_user(page: Page, department_pk: int, mobile: str) -> None:
    page.locator("#id_username").fill("zhaoliu")
    page.locator("#id_real_name").fill("赵六")
    page.locator("#id_kind").select_option("staff")
    page.locator("#id_department").select_option(str(department_pk))
    page.locator("#id_mobile").fill(mobile)
    page.locator("#id_email").fill("zhaoliu@example.gov.cn")
    page.locator("#id_password").fill(INITIAL_PASSWORD)
    page.locator("#id_remark").fill("端到端测试新增")


def test_new_user_is_created_granted_a_role_and_changes_password_on_first_sign_in(
    page_for, sysadmin, secadmin, department, shot
):
    # The system administrator creates the account; a bad mobile number is sent back first.
    admin = page_for(sysadmin)
    admin.goto("/system/users/")
    admin.get_by_test_id("user-create").click()
    expect(admin.locator("h1.pw-title")).to_have_text("新增用户")
    fill_new_user(admin, department.pk, mobile="12345678901")
    shot(admin, "new-user-filled")
    admin.get_by_test_id("save").click()

    expect(field_error(admin, "mobile")).to_have_text("请输入正确的11位手机号码")
    expect(admin.get_by_test_id("form-error")).to_contain_text("请按红色提示修改")
    expect(admin.locator("#id_username")).to_have_value("zhaoliu")
    expect(admin.locator("#id_real_name")).to_have_value("赵六")
    expect(admin.locator("#id_kind")).to_have_value("staff")
    expect(admin.locator("#id_department")).to_have_value(str(department.pk))
    expect(admin.locator("#id_mobile")).to_have_value("12345678901")
    expect(admin.locator("#id_email")).to_have_value("zhaoliu@example.gov.cn")
    expect(admin.locator("#id_remark")).to_have_value("端到端测试新增")
    assert not User.objects.filter(username="zhaoliu").exists()
    shot(admin, "new-user-bad-mobile")

    admin.locator("#id_mobile").fill("13800138000")
    admin.locator("#id_password").fill(INITIAL_PASSWORD)  # never echoed back, by design
    admin.get_by_test_id("save").click()
    expect(admin).to_have_url(at("/system/users/"))
    expect(admin.locator(".pw-messages")).to_contain_text("已新增用户 赵六（zhaoliu）")
    expect(user_row(admin, "zhaoliu")).to_contain_text("13800138000")
    shot(admin, "user-created")
    new_user = User.objects.get(username="zhaoliu")
    assert new_user.must_change_password and not new_user.roles.exists()

    # The security administrator grants a business role (三员 roles are never offered).
    security = page_for(secadmin)
    open_role_page(security, new_user)
    expect(security.get_by_label("系统管理员", exact=True)).to_have_count(0)
    security.get_by_label("窗口受理人员", exact=True).check()
    shot(security, "grant-role")
    security.get_by_test_id("save-roles").click()
    expect(security).to_have_url(at("/system/users/"))
    expect(security.locator(".pw-messages")).to_contain_text("已为 赵六（zhaoliu） 分配角色")
    expect(user_row(security, "zhaoliu")).to_contain_text("窗口受理人员")
    shot(security, "role-granted")

    # The new user signs in: first the password change, then the granted menus.
    newcomer = page_for()
    submit_login(newcomer, "zhaoliu", INITIAL_PASSWORD)
    expect(newcomer).to_have_url(at("/account/password/"))
    expect(newcomer.get_by_test_id("password-reason")).to_contain_text(
        "首次登录或密码被重置，请先设置新密码后再继续使用系统。"
    )
    shot(newcomer, "forced-password-change")
    newcomer.goto("/system/users/")
    expect(newcomer).to_have_url(at("/account/password/"))

    newcomer.locator("#id_old_password").fill(INITIAL_PASSWORD)
    newcomer.locator("#id_new_password").fill(NEW_PASSWORD)
    newcomer.locator("#id_confirm_password").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="确认修改").click()

    expect(newcomer).to_have_url(at("/"))
    expect(newcomer.locator(".pw-messages")).to_contain_text("密码已修改")
    nav = sidebar(newcomer)
    expect(nav.locator(".pw-nav-group", has_text="窗口受理")).to_be_visible()
    expect(nav.locator('a[data-menu="window.cases"]')).to_have_text("办件查询")
    expect(nav).not_to_contain_text("系统管理")
    shot(newcomer, "workbench-with-granted-menus")
    nav.locator('a[data-menu="window.cases"]').click()
    expect(newcomer.locator("h1.pw-title")).to_have_text("办件查询")
    shot(newcomer, "case-list")


def test_administrator_accounts_are_changed_only_by_dual_control(
    page_for, sysadmin, secadmin, auditor, shot
):
    # The user list offers no direct action on a 三员 account, only the way to 双人审批.
    admin = page_for(sysadmin)
    admin.goto("/system/users/?q=auditor")
    row = user_row(admin, "auditor")
    expect(row.get_by_test_id("admin-account")).to_contain_text("双人审批")
    expect(row.get_by_role("button")).to_have_count(0)
    shot(admin, "admin-row")

    # The system administrator files a reset and sees the first half once.
    row.get_by_role("link", name="双人审批").click()
    expect(admin.locator("h1.pw-title")).to_have_text("双人审批")
    admin.locator("#id_target").select_option(str(auditor.pk))
    admin.locator("#id_action").select_option("reset_password")
    admin.locator("#id_reason").fill("本人手机遗失")
    admin.get_by_test_id("file-request").click()
    first = admin.get_by_test_id("one-time-half").inner_text()
    assert len(first) == 8
    shot(admin, "first-half")

    # The security administrator approves and sees the second half once.
    security = page_for(secadmin)
    security.goto("/system/admin-requests/")
    security.once("dialog", lambda dialog: dialog.accept())
    security.get_by_test_id("approve").click()
    second = security.get_by_test_id("one-time-half").inner_text()
    assert len(second) == 8 and second != first
    shot(security, "second-half")
    auditor.refresh_from_db()
    assert auditor.must_change_password and auditor.must_bind_totp
