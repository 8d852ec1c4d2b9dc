"""Refused requests are security events (access.denied), in the API as on the pages, and a
scan cannot flood the operation log with them (core/denials.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.utils import timezone

from policywindow.api import services as api_services
from policywindow.core.denials import LOGGED_PER_WINDOW, WINDOW_SECONDS, record_denial
from policywindow.core.models import AuditEvent
from policywindow.system.models import Role
from tests.enterprises.conftest import make_enterprise  # noqa: F401 — a fixture

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.30"
SCAN = 500
FORBIDDEN_API = "/api/v1/users"
FORBIDDEN_PAGE = "/system/roles/"


@pytest.fixture
def clock(monkeypatch):
    now = [dt.datetime(2026, 12, 1, 10, 0, 5, tzinfo=dt.UTC)]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture
def clerk(make_user):
    return make_user("clerk", "window_clerk")


@pytest.fixture
def as_clerk(clerk):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(clerk)
    return client


def denials():
    return AuditEvent.objects.filter(action="access.denied").order_by("id")


def test_an_api_403_is_logged_with_user_path_and_address(clerk, as_clerk):
    response = as_clerk.get(FORBIDDEN_API)
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    event = denials().get()
    assert event.actor == clerk and event.ip == ADDRESS and event.result == "failure"
    assert event.object_repr == FORBIDDEN_API
    assert event.message.startswith(f"GET {FORBIDDEN_API}：403")


def test_a_token_403_names_the_tokens_user(clerk):
    token = api_services.issue_token(clerk, name="测试", lifetime=dt.timedelta(days=1)).plaintext
    response = Client(REMOTE_ADDR=ADDRESS).get(FORBIDDEN_API, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    event = denials().get()
    assert event.actor == clerk and event.ip == ADDRESS


def test_an_object_outside_the_scope_is_a_logged_404(make_user, make_department, make_enterprise):  # noqa: F811
    Role.objects.filter(code="window_clerk").update(data_scope=Role.DataScope.DEPARTMENT_AND_BELOW)
    scoped = make_user("scoped", "window_clerk")
    theirs = make_enterprise(department=make_department("营口市营商局"))
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(scoped)
    assert client.get(f"/api/v1/enterprises/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/enterprises/987654").status_code == 404  # a guess at an id
    logged = list(denials())
    assert [e.object_repr for e in logged] == [
        f"/api/v1/enterprises/{theirs.pk}",
        "/api/v1/enterprises/987654",
    ]
    assert all(e.actor == scoped and e.ip == ADDRESS and "404" in e.message for e in logged)


def test_an_anonymous_not_found_answer_is_not_a_denial():
    response = Client().get("/api/v1/status", {"number": "ZC2026000001", "credit_code": "x" * 18})
    assert response.status_code == 404
    assert not denials().exists()


def test_a_page_object_404_is_logged_but_an_unknown_url_is_not(clerk, as_clerk):
    assert as_clerk.get("/window/cases/987654/").status_code == 404
    assert as_clerk.get("/no-such-page/").status_code == 404
    event = denials().get()
    assert event.object_repr == "/window/cases/987654/" and event.actor == clerk


def test_a_scan_of_the_api_writes_at_most_the_limit_and_a_summary(clock, clerk, as_clerk):
    statuses = {as_clerk.get(f"{FORBIDDEN_API}?page={n}").status_code for n in range(SCAN)}
    assert statuses == {403}
    logged = list(denials())
    assert len(logged) == LOGGED_PER_WINDOW + 1
    assert "其余拒绝只计数" in logged[-1].message  # says that the rest are only counted
    clock[0] += dt.timedelta(seconds=WINDOW_SECONDS)
    as_clerk.get(FORBIDDEN_API)
    summary, single = denials()[LOGGED_PER_WINDOW + 1 :]
    assert f"共拒绝 {SCAN} 次" in summary.message
    assert f"{SCAN - LOGGED_PER_WINDOW} 次未逐条记录" in summary.message
    assert summary.actor == clerk and single.message.startswith(f"GET {FORBIDDEN_API}")


def test_the_pages_denials_use_the_same_limit(clock, as_clerk):
    assert {as_clerk.get(FORBIDDEN_PAGE).status_code for _ in range(SCAN)} == {403}
    assert denials().count() == LOGGED_PER_WINDOW + 1


def test_pages_and_api_draw_on_one_quota_per_user(clock, as_clerk):
    for _ in range(LOGGED_PER_WINDOW):
        as_clerk.get(FORBIDDEN_PAGE)
        as_clerk.get(FORBIDDEN_API)
    assert denials().count() == LOGGED_PER_WINDOW + 1


def test_anonymous_denials_are_counted_per_address_whatever_the_header(clock):
    factory = RequestFactory()
    for n in range(SCAN):
        request = factory.get(
            "/x/", REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=f"203.0.113.{n % 250}"
        )
        request.user = AnonymousUser()
        record_denial(request, "403 测试")
    assert denials().count() == LOGGED_PER_WINDOW + 1
