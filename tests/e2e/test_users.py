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

    # The security administrator grants the system administrator role.
    security = page_for(secadmin)
    open_role_page(security, new_user)
    security.get_by_label("系统管理员（三员·系统管理员）", exact=True).check()
    shot(security, "grant-role")
    security.get_by_test_id("save-roles").click()
    expect(security).to_have_url(at("/system/users/"))
    expect(security.locator(".pw-messages")).to_contain_text("已为 赵六（zhaoliu） 分配角色")
    expect(user_row(security, "zhaoliu")).to_contain_text("系统管理员")
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
    expect(nav.locator(".pw-nav-group", has_text="系统管理")).to_be_visible()
    expect(nav.locator('a[data-menu="system.user"]')).to_have_text("用户管理")
    shot(newcomer, "workbench-with-granted-menus")
    nav.locator('a[data-menu="system.user"]').click()
    expect(newcomer.locator("h1.pw-title")).to_have_text("用户管理")
    shot(newcomer, "user-list")


def test_separation_of_duties_refuses_two_administrator_roles(page_for, secadmin, make_user, shot):
    target = make_user("sunba", real_name="孙八")
    page = page_for(secadmin)
    open_role_page(page, target)
    page.get_by_label("系统管理员（三员·系统管理员）", exact=True).check()
    page.get_by_label("审计管理员（三员·审计管理员）", exact=True).check()
    page.get_by_test_id("save-roles").click()

    expect(page).to_have_url(at(f"/system/users/{target.pk}/roles/"))
    expect(field_error(page, "roles")).to_contain_text(
        "系统管理员、安全管理员、审计管理员三者互斥，不能同时分配"
    )
    expect(field_error(page, "roles")).to_be_visible()
    expect(page.get_by_label("系统管理员（三员·系统管理员）", exact=True)).to_be_checked()
    expect(page.get_by_label("审计管理员（三员·审计管理员）", exact=True)).to_be_checked()
    shot(page, "refused")
    assert not target.roles.exists()
