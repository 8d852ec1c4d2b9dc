"""Access in the browser: the Chinese 403 page, and pages built only from self-hosted assets."""

from __future__ import annotations

import pytest
from playwright.sync_api import Request, Response, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_enterprise_user_gets_the_chinese_403_page_for_user_admin(page_for, enterprise_user, shot):
    page = page_for(enterprise_user)
    expect(page.get_by_test_id("sidebar")).not_to_contain_text("系统管理")

    response = page.goto("/system/users/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    expect(page.get_by_test_id("error-message")).to_contain_text("您没有权限访问该页面")
    shot(page, "forbidden")
    page.get_by_role("link", name="返回首页").click()
    expect(page.locator("h1.pw-title")).to_have_text("法人空间")  # an enterprise user's home


PAGES = ["/", "/system/users/", "/system/users/new/", "/account/profile/", "/account/password/"]


def test_pages_load_only_self_hosted_assets_without_errors(page_for, sysadmin, live_server, shot):
    page = page_for(sysadmin)
    foreign, failed, console_errors = [], [], []

    def on_request(request: Request) -> None:
        if not request.url.startswith(live_server.url):
            foreign.append(request.url)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    for path in PAGES:
        page.goto(path)
        expect(page.locator("h1.pw-title")).not_to_be_empty()
        # Bootstrap, htmx and Alpine all loaded and started.
        assert page.evaluate("typeof bootstrap.Dropdown") == "function", path
        assert page.evaluate("typeof htmx.ajax") == "function", path
        page.wait_for_function("() => window.Alpine && typeof Alpine.version === 'string'")
        shot(page, path.strip("/").replace("/", "_") or "home")

    assert foreign == []
    assert failed == []
    assert console_errors == []
