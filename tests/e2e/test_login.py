"""Signing in and out in the browser: the workbench, the lockout after five failures."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from policywindow.system.models import LoginGuard
from tests.conftest import PASSWORD

from .conftest import at, sidebar, submit_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WRONG_PASSWORD = "Wrong@Pass2026"


def test_sysadmin_signs_in_and_lands_on_the_workbench(page_for, sysadmin, shot):
    page = page_for()
    page.goto("/")
    expect(page).to_have_url(at("/login/?next=/"))
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    shot(page, "login-form")

    submit_login(page, "sysadmin", PASSWORD)

    expect(page).to_have_url(at("/"))
    expect(page.locator("h1.pw-title")).to_have_text("工作台")
    expect(page.get_by_test_id("role-badge")).to_have_text(["系统管理员"])
    nav = sidebar(page)
    expect(nav.get_by_role("link", name="工作台")).to_be_visible()
    expect(nav.locator(".pw-nav-group", has_text="系统管理")).to_be_visible()
    expect(nav.locator('a[data-menu="system.user"]')).to_have_text("用户管理")
    shot(page, "workbench")

    nav.locator('a[data-menu="system.user"]').click()
    expect(page.locator("h1.pw-title")).to_have_text("用户管理")
    expect(page.get_by_test_id("user-table")).to_contain_text("sysadmin")
    shot(page, "user-list")


def test_five_wrong_passwords_lock_the_account(page_for, make_user, shot):
    make_user("lisi")
    page = page_for()
    error = page.get_by_test_id("form-error")
    for remaining in (4, 3, 2, 1):
        submit_login(page, "lisi", WRONG_PASSWORD)
        expect(error).to_contain_text(f"用户名或密码错误，再失败 {remaining} 次账号将被锁定")
    shot(page, "fourth-failure")

    submit_login(page, "lisi", WRONG_PASSWORD)
    locked_until = LoginGuard.objects.get(username="lisi").locked_until
    retry_at = timezone.localtime(locked_until).strftime("%H:%M")
    expect(error).to_contain_text(f"已连续失败 5 次，账号锁定 30 分钟，请于 {retry_at} 后重试")
    shot(page, "fifth-failure-locked")

    submit_login(page, "lisi", PASSWORD)
    expect(error).to_contain_text(f"账号已锁定，请于 {retry_at} 后重试")
    expect(page).to_have_url(at("/login/"))
    expect(sidebar(page)).to_have_count(0)
    shot(page, "right-password-refused")


def test_sign_out_from_the_user_menu(page_for, sysadmin, shot):
    page = page_for(sysadmin)
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_test_id("logout")).to_be_visible()
    shot(page, "user-menu-open")

    page.get_by_test_id("logout").click()

    expect(page).to_have_url(at("/login/"))
    expect(page.locator(".pw-login-box")).to_contain_text("您已安全退出")
    shot(page, "signed-out")
    page.goto("/system/users/")
    expect(page).to_have_url(at("/login/?next=/system/users/"))


def test_the_sign_in_page_leads_to_each_public_page(page_for, shot):
    """Someone without an account reaches the policies, the calculator, the status query and
    the publicity notices from the sign-in page."""
    page = page_for()
    page.goto("/login/")
    links = page.get_by_role("navigation", name="公众服务")
    shot(page, "public-links")
    for name, heading in [
        ("政策库", "政策库"),
        ("政策计算器", "政策计算器"),
        ("办理状态查询", "办理状态查询"),
        ("政策兑现公示", "政策兑现审核结果公示"),
    ]:
        page.goto("/login/")
        links.get_by_role("link", name=name).click()
        expect(page.locator("h1").first).to_contain_text(heading)
        expect(page.get_by_test_id("public-login")).to_be_visible()  # the public face
