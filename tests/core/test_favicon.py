"""The emblem as favicon: linked from every layout's <head>, served, and /favicon.ico answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.hostile.test_csp import browser_templates, template_name

pytestmark = pytest.mark.django_db

ICON_LINK = re.compile(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"')


def icon_urls(html: str) -> list[str]:
    return ICON_LINK.findall(html)


def assert_served(client: Client, url: str) -> None:
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("image/"), url
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_every_layout_with_a_head_includes_the_icons():
    layouts = [t for t in browser_templates() if "<head>" in t.read_text()]
    assert {"base.html", "error.html", "api/swagger.html"} <= {template_name(t) for t in layouts}
    for layout in layouts:
        assert '{% include "includes/favicon.html" %}' in layout.read_text(), layout


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        (None, "/login/", 200),  # the sign-in page (base layout)
        (None, "/policies/", 200),  # the public face
        (None, "/api/v1/docs", 200),  # the API documentation
        (None, "/no-such-page/", 404),  # the error page
        ("sysadmin", "/", 200),  # the workbench
        ("enterprise_user", "/portal/space/", 200),  # the enterprise portal (法人空间)
    ],
)
def test_each_face_links_icons_that_are_served(who, url, status, request, login):
    client = login(request.getfixturevalue(who)) if who else Client()
    response = client.get(url)
    assert response.status_code == status
    urls = icon_urls(response.content.decode())
    assert len(urls) == 3 and any(u.endswith(".svg") for u in urls)
    for icon in urls:
        assert_served(client, icon)


def test_favicon_ico_answers_with_the_icon():
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response.url.endswith("/policywindow/favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    assert_served(client, "/favicon.ico")


@pytest.fixture
def enterprise_user(make_user):
    from policywindow.system.models import User

    return make_user("qiye", "enterprise", kind=User.Kind.ENTERPRISE)
