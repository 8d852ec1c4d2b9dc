"""Browser tests: Debian's headless Chromium, driven by Playwright, against pytest-django's live server.

The fixtures are named apart from pytest-playwright's ``browser``/``page`` (those would look for
a browser downloaded by Playwright, which this environment does not have):

- ``chromium``: one browser for all the tests of this package;
- ``page_for(user=None)``: a fresh page in its own browser context (own cookies), signed in
  through the login form when a user is given;
- ``shot(page, step)``: a full-page PNG under ``$POLICYWINDOW_TEST_ARTIFACTS/screenshots``.

Every page the tests open runs under the product's Content-Security-Policy and is watched: a
``securitypolicyviolation`` event, a console message about the policy, or an Alpine expression
the CSP build could not run fails the test (at teardown, listing what was refused and where).

Every test here needs the live server, hence a transactional database: each test starts from a
flushed database that post_migrate has re-seeded with the built-in menus, roles and parameters.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    expect,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from policywindow.system.models import User
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(
    os.environ.get(
        "POLICYWINDOW_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"
    )
)
SCREENSHOTS = ARTIFACTS / "screenshots"
# How long a browser action or expectation may take before the test fails: a guard against a
# page that never comes, not a speed expectation (expectations pass as soon as they hold).
TIMEOUT_MS = 60_000
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

# Runs in every frame before the page's own scripts; the binding reports to the test.
CSP_BINDING = "__pwReportCspViolation"
CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (e) => {{
  window.{CSP_BINDING}(`${{e.effectiveDirective}} refused ${{e.blockedURI || "inline"}}`
    + ` in ${{e.sourceFile || e.documentURI}}:${{e.lineNumber}} ${{e.sample}}`);
}});
"""
# Console lines that mean the policy bit or Alpine's CSP build could not read a directive.
BROKEN_UNDER_CSP = re.compile(r"Content Security Policy|Alpine (Expression )?Error")

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item so teardown can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, started while MEDIA_URL names another host.

    Django's LiveServerThread wraps the site in a media-files handler that parses MEDIA_URL once,
    at start-up. The project's ``MEDIA_URL = None`` (uploads are only served through permission
    checks) parses to bytes and crashes that handler on every request; a URL on another host
    makes it step aside for good, so the live server still serves no uploads.
    """
    address = (
        request.config.getvalue("liveserver")
        or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    with override_settings(MEDIA_URL="https://uploads.invalid/"):
        server = LiveServer(address)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One browser for the browser tests, gone before the rest of the suite runs.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    calls (make_user, the tests' own checks) beside a running loop unless told. The permission
    lasts exactly as long as the loop: a leftover variable would leak into other tests and into
    the subprocesses they start (``check --deploy`` rejects it).
    """
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ[ASYNC_UNSAFE]
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shot(page, step)`` saves ``screenshots/<test name>-<nn>-<step>.png`` (numbered in order)."""
    test_name = re.sub(r"[^\w.-]+", "_", request.node.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for stale in SCREENSHOTS.glob(f"{test_name}-*.png"):
        stale.unlink()
    counter = itertools.count(1)

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def watch_csp(context: BrowserContext, problems: list[str]) -> None:
    """Collect into ``problems`` what the policy refused in any page or frame of ``context``."""
    context.expose_binding(CSP_BINDING, lambda _source, text: problems.append(text))
    context.add_init_script(CSP_LISTENER)

    def on_console(message: ConsoleMessage) -> None:
        if BROKEN_UNDER_CSP.search(message.text):
            problems.append(f"console {message.type}: {message.text}")

    context.on("console", on_console)


@pytest.fixture
def csp_problems() -> list[str]:
    """What the policy refused in the test's pages (page_for fails the test unless empty)."""
    return []


@pytest.fixture
def page_for(
    request: pytest.FixtureRequest,
    chromium: Browser,
    live_server,
    transactional_db,
    shot,
    csp_problems: list[str],
) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context; sign in first when given a user."""
    contexts = []

    def open_page(user: User | None = None, password: str = PASSWORD) -> Page:
        context = chromium.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1366, "height": 860},
        )
        context.set_default_timeout(TIMEOUT_MS)
        watch_csp(context, csp_problems)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            submit_login(page, user.username, password)
            # Staff land on the workbench, enterprise users on their 法人空间.
            expect(page.locator("h1.pw-title")).to_have_text(re.compile("^(工作台|法人空间)$"))
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for page in (p for c in contexts for p in c.pages):
            shot(page, "failed")
    for context in contexts:
        context.close()
    if csp_problems:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(csp_problems))


def submit_login(page: Page, username: str, password: str) -> None:
    """Fill in and submit the sign-in form (the outcome is for the caller to check)."""
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("sidebar")


def user_row(page: Page, username: str) -> Locator:
    return page.locator(f'[data-testid="user-table"] tr[data-username="{username}"]')


def field_error(page: Page, field: str) -> Locator:
    return page.locator(f'[data-field-error="{field}"]')


def at(path: str) -> re.Pattern[str]:
    """The live server's URL for exactly ``path`` (with its query string), for to_have_url."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + "$")


# ---------------------------------------------------------------- accessibility (axe-core)

# axe-core from npm (package.json devDependencies), read by the tests only: no product page
# loads it.
AXE_SCRIPT = Path(settings.NODE_MODULES) / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA (GB/T 37668, the national web accessibility standard,
# follows WCAG 2.0 AA).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Rules the run must include (what issue 15 found broken, and the basics of every page).
AXE_REQUIRED_RULES = frozenset(
    {
        "color-contrast",
        "scrollable-region-focusable",
        "label",
        "select-name",
        "image-alt",
        "link-name",
        "button-name",
        "document-title",
        "html-has-lang",
    }
)
AXE_RUN = """async (tags) => {
  const found = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                         resultTypes: ["violations"]});
  return found.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(" ")} — ${(n.failureSummary || "").trim()}`),
  }));
}"""


@functools.cache
def axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def load_axe(page: Page) -> None:
    """Put axe into the page, under the page's own Content-Security-Policy.

    Not with ``page.add_script_tag``: that inlines the file as a ``<script>`` element, which
    the product's ``script-src 'self'`` refuses (the CSP watcher reports it and axe never
    runs; tests/e2e/test_accessibility.py shows it). ``page.evaluate`` hands the source to the
    DevTools protocol (``Runtime.evaluate``), which is the browser's own evaluation, not
    page script, and is not subject to the page's CSP; the policy stays exactly as served.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())


def axe_violations(page: Page) -> list[dict]:
    """The WCAG 2 A/AA rules axe-core finds broken on the page as it is now."""
    load_axe(page)
    return page.evaluate(AXE_RUN, AXE_TAGS)


def assert_accessible(page: Page, where: str = "") -> None:
    """Fail with every violation (rule, elements, why) of the page as it is now."""
    violations = axe_violations(page)
    if violations:
        lines = [f"{where or page.url}: {len(violations)} 项无障碍问题"]
        for v in violations:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {node}" for node in v["nodes"]]
        pytest.fail("\n".join(lines), pytrace=False)
