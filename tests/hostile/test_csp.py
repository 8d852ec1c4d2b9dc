"""Content-Security-Policy: present and strict on every kind of response, and the templates
contain nothing the policy would refuse (so the pages keep working under it).

The browser tests (tests/e2e) fail on any violation a page reports; these checks need no browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.clickjacking import xframe_options_sameorigin

import policywindow
from policywindow.core.access import public
from policywindow.urls import urlpatterns as product_urlpatterns

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"


@public
def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


@public
@xframe_options_sameorigin
def framed_pdf(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"%PDF-1.7\n", content_type="application/pdf")


# The product's URLs plus a view that fails and a PDF meant for a same-origin frame.
urlpatterns = [
    path("csp-test/broken/", broken_view),
    path("csp-test/framed.pdf", framed_pdf),
    *product_urlpatterns,
]
handler400 = "policywindow.core.views.handler400"
handler403 = "policywindow.core.views.handler403"
handler404 = "policywindow.core.views.handler404"
handler500 = "policywindow.core.views.handler500"


def directives(response: HttpResponse) -> dict[str, list[str]]:
    assert HEADER in response, f"no {HEADER} on {response.status_code} {response}"
    parsed = {}
    for part in response[HEADER].split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} given twice"
        parsed[name] = sources
    return parsed


def assert_strict(response: HttpResponse, frame_ancestors: str = "'none'") -> None:
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == [frame_ancestors]
    assert set(policy["img-src"]) == {"'self'", "data:"}
    every_source = {source for sources in policy.values() for source in sources}
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:"):
        assert loose not in every_source


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/login/", 200),  # a page
        ("/api/v1/docs", 200),  # the Swagger UI page
        ("/api/v1/openapi.json", 200),
        ("/api/v1/me", 401),  # an API error
        ("/no-such-page/", 404),  # an error page
        ("/status/?q=%00", 400),  # refused by a middleware before any view
        ("/system/users/", 302),  # a redirect to the sign-in page
        ("/csp-test/broken/", 500),  # a server error
    ],
)
def test_every_kind_of_response_carries_the_strict_policy(url, status):
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == status
    assert_strict(response)


def test_a_signed_in_page_and_an_api_answer_carry_it(sysadmin, login):
    client = login(sysadmin)
    assert_strict(client.get("/system/users/"))
    api = client.get("/api/v1/me")
    assert api.status_code == 200
    assert_strict(api)


@pytest.mark.urls(__name__)
def test_a_pdf_for_a_same_origin_frame_keeps_only_the_framing_rule():
    """A PDF is not an HTML document; older Chromium PDF viewers break under a page policy."""
    response = Client().get("/csp-test/framed.pdf")
    assert directives(response) == {"frame-ancestors": ["'self'"]}


# ----------------------------------------------------------------------------- templates

SOURCE = Path(policywindow.__file__).parent
# Rendered to PDF by WeasyPrint on the server, never served to a browser: CSP does not apply.
PDF_TEMPLATES = {"applications/receipt.html"}

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
FORBIDDEN = {
    "inline <script>": INLINE_SCRIPT,
    "event-handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> block": re.compile(r"<style[\s>]", re.I),
    "hx-on attribute": re.compile(r"\shx-on", re.I),
    "js: in hx-vals": re.compile(r"hx-vals\s*=\s*['\"]\s*(js|javascript):", re.I),
}
# An Alpine directive and its value. The CSP build reads a property or method by (dotted) name
# only; x-for adds "item in list" / "(item, index) in list".
DIRECTIVE = re.compile(r"\s((?:x-[a-z]+|@|:)[\w.:-]*)=(\"[^\"]*\"|'[^']*')")
NAME = r"\$?[A-Za-z_]\w*(?:\.\w+)*"
FOR_EXPRESSION = re.compile(rf"^(\w+|\(\w+, \w+\)) in {NAME}$")
NAMED = re.compile(rf"^{NAME}$")
NOT_ALPINE = {"x-cloak", "x-ref"}  # take no expression


def template_name(template: Path) -> str:
    """The name Django loads it by: the path under its ``templates`` folder."""
    parts = template.parts
    return "/".join(parts[len(parts) - parts[::-1].index("templates") :])


def browser_templates() -> list[Path]:
    return [
        template
        for template in sorted(SOURCE.glob("**/templates/**/*.html"))
        if "/pdf/" not in f"/{template_name(template)}"
        and template_name(template) not in PDF_TEMPLATES
    ]


def test_the_template_scan_finds_the_pages():
    names = {template_name(t) for t in browser_templates()}
    assert {"base.html", "error.html", "workflow/designer.html", "api/swagger.html"} <= names
    assert not {"pdf/letter.html", "fundforms/pdf/form.html", "applications/receipt.html"} & names


@pytest.mark.parametrize("template", browser_templates(), ids=template_name)
def test_templates_hold_nothing_the_policy_refuses(template):
    text = template.read_text()
    for what, pattern in FORBIDDEN.items():
        match = pattern.search(text)
        assert match is None, f"{what} in {template}: {match and match.group(0)!r}"


@pytest.mark.parametrize("template", browser_templates(), ids=template_name)
def test_alpine_directives_name_what_they_read(template):
    """Expressions such as ``picked === 0`` would make the CSP build warn and do nothing."""
    for directive, quoted in DIRECTIVE.findall(template.read_text()):
        if directive in NOT_ALPINE or directive.startswith((":/", "::")):
            continue
        value = quoted[1:-1]
        if "{{" in value or "{%" in value:
            pytest.fail(
                f"{directive}={quoted} in {template}: template code in an Alpine expression"
            )
        shape = FOR_EXPRESSION if directive == "x-for" else NAMED
        assert shape.match(value), f"{directive}={quoted} in {template} is not a plain name"


# A widget attribute set in Python reaches the page like a template's.
WIDGET_ATTRIBUTE = re.compile(
    r"""["'](on[a-z]+|style|x-[a-z.]+|@[a-z.]+|hx-on[\w:-]*)["']\s*[:\]]"""
)


def test_python_code_adds_no_handler_style_or_alpine_attribute_to_widgets():
    found = [
        f"{source.relative_to(SOURCE)}: {match.group(0)}"
        for source in sorted(SOURCE.glob("**/*.py"))
        for match in WIDGET_ATTRIBUTE.finditer(source.read_text())
    ]
    assert found == []
