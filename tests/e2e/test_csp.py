"""The Content-Security-Policy in the browser: what it refuses, and that the pages work under it.

Every browser test fails on a violation (conftest.page_for); these tests show that the watch
sees one, and drive the Alpine components that no other browser test clicks through.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from policywindow.system.models import Role

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Inline script, a string compiled as code (eval's twin) and a style attribute, injected the
# way an escaping bug would let them in.
INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injectedRan = true";
  document.body.append(script);
  setTimeout("window.evalRan = true", 0);
  const box = document.createElement("div");
  box.id = "injected-style";
  box.innerHTML = '<span style="display: none">visible</span>';
  document.body.append(box);
}"""


def wait_for(condition, deadline_s: float = TIMEOUT_MS / 1000) -> None:
    """Poll until ``condition()`` holds: the page reports violations asynchronously."""
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, "the expected violations were not reported"
        time.sleep(0.05)


def test_policy_refuses_injected_script_eval_and_style_and_the_watch_reports_it(
    page_for, csp_problems
):
    page = page_for()
    response = page.goto("/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.evaluate(INJECT)

    wait_for(lambda: len(csp_problems) >= 3)
    assert page.evaluate("window.injectedRan") is None
    assert page.evaluate("window.evalRan") is None
    expect(page.locator("#injected-style span")).to_be_visible()  # display:none was refused
    refused = "\n".join(csp_problems)
    assert "script-src-elem refused inline" in refused
    assert "script-src refused eval" in refused
    assert "style-src-attr refused inline" in refused
    csp_problems.clear()  # seen on purpose; any other violation still fails the test


def test_role_grant_tree_and_data_scope_work_under_the_policy(page_for, secadmin, shot):
    role = Role.objects.get(code="reviewer")
    page = page_for(secadmin)
    page.goto(f"/system/roles/{role.pk}/grant/")
    tree = page.get_by_test_id("grant-tree")
    boxes = tree.locator('input[name="menus"]')

    page.get_by_role("button", name="全不选").click()
    expect(tree.locator('input[name="menus"]:checked')).to_have_count(0)
    # Ticking a button ticks its menu and the directories above; nothing else.
    button = tree.locator(".pw-grant-btn input").first
    button.check()
    chain = [button]
    while parent := chain[-1].get_attribute("data-parent"):
        chain.append(tree.locator(f'input[value="{parent}"]'))
    assert len(chain) >= 3  # button, menu, directory
    for box in chain:
        expect(box).to_be_checked()
    expect(tree.locator('input[name="menus"]:checked')).to_have_count(len(chain))
    page.get_by_role("button", name="全选").click()
    expect(tree.locator('input[name="menus"]:checked')).to_have_count(boxes.count())

    departments = page.get_by_test_id("scope-departments")
    expect(departments).to_be_hidden()
    page.get_by_role("radio", name="指定部门").check()
    expect(departments).to_be_visible()
    shot(page, "custom-scope")
    page.get_by_role("radio", name="本部门", exact=True).check()
    expect(departments).to_be_hidden()


def test_menu_form_shows_the_fields_of_the_chosen_kind(page_for, sysadmin, shot):
    page: Page = page_for(sysadmin)
    page.goto("/system/menus/new/")
    icon, route, permission = (
        page.locator(f"#id_{name}") for name in ("icon", "url_name", "permission")
    )
    expect(route).to_be_visible()  # a menu by default
    expect(permission).to_be_visible()

    page.locator("#id_kind").select_option("button")
    expect(icon).to_be_hidden()
    expect(route).to_be_hidden()
    expect(permission).to_be_visible()
    page.locator("#id_kind").select_option("directory")
    expect(icon).to_be_visible()
    expect(permission).to_be_hidden()
    shot(page, "directory")


def test_swagger_ui_renders_from_self_hosted_files_under_the_policy(page_for, shot):
    page = page_for()
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("政策兑现单一窗口")
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary").first.click()  # an operation opens (React, no eval)
    expect(page.locator(".opblock-body").first).to_be_visible()
    shot(page, "swagger")


def test_error_page_goes_back_without_a_javascript_url(page_for, sysadmin):
    page = page_for(sysadmin)
    page.goto("/system/users/")
    page.goto("/no-such-page/")
    expect(page.get_by_test_id("error-message")).to_be_visible()
    page.get_by_role("button", name="返回上一页").click()
    expect(page.locator("h1.pw-title")).to_have_text("用户管理")
