"""The favicon: every layout (sign-in, public, workbench, portal, error page, API docs) gives the
browser an icon it finds, and no request of any page ends in a 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response

from policywindow.system.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def icon_fetched_without_errors(page: Page, url: str, status: int = 200) -> None:
    """Open ``url``; the browser fetches the page's icon, and nothing the page loads fails."""
    failed: list[str] = []

    def watch(response: Response) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            failed.append(f"{response.status} {response.url}")

    page.on("response", watch)
    with page.expect_response(lambda r: "/static/policywindow/favicon" in r.url) as icon:
        document = page.goto(url)
    assert document is not None and document.status == status, url
    assert icon.value.status == 200 and icon.value.headers["content-type"].startswith("image/")
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", watch)
    assert failed == [], url


def test_every_face_shows_the_icon_and_requests_nothing_missing(page_for, make_user, shot):
    anonymous = page_for()
    for url, status in [
        ("/login/", 200),
        ("/policies/", 200),
        ("/status/", 200),
        ("/no-such-page/", 404),
        ("/api/v1/docs", 200),
    ]:
        icon_fetched_without_errors(anonymous, url, status)
    staff = page_for(make_user("icon_admin", "sys_admin"))
    icon_fetched_without_errors(staff, "/")
    icon_fetched_without_errors(staff, "/system/users/")
    shot(staff, "workbench")
    portal = page_for(make_user("icon_qiye", "enterprise", kind=User.Kind.ENTERPRISE))
    icon_fetched_without_errors(portal, "/portal/space/")


def test_favicon_ico_leads_to_the_icon(page_for):
    page = page_for()
    response = page.goto("/favicon.ico")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert response.request.redirected_from is not None  # /favicon.ico itself redirects
