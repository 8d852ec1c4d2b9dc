"""List pages run a fixed number of SQL queries however many rows they show (no N+1), and
what every request pays to know who is asking stays small (system/identity.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.api.services import issue_token
from policywindow.system.models import User
from tests.applications.test_intake_factories import (
    make_case,
    make_enterprise,
    make_member,
    make_version,
)

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> tuple[int, int]:
    """(queries, page size) of a second request (the first warms per-process caches)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), len(response.content)


@pytest.fixture
def world(make_user, department):
    clerk = make_user("qc_clerk", "window_clerk")
    applicant = make_user("qc_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise("查询计数测试企业有限公司")
    make_member(applicant, enterprise)
    return clerk, applicant, enterprise


def _add_cases(count: int, applicant: User, enterprise, department) -> None:
    for _ in range(count):
        version = make_version(department)
        make_case(version, enterprise, applicant)
        make_case(version, make_enterprise(), applicant)


@pytest.mark.parametrize(
    ("who", "url_name"),
    [
        ("clerk", "applications:intake_queue"),
        ("clerk", "applications:case_list"),
        ("clerk", "enterprises:enterprise_list"),
        ("applicant", "applications:my_list"),
        ("applicant", "applications:rule_catalog"),
        (None, "policies:public_list"),
    ],
)
def test_list_pages_do_not_query_per_row(login, world, department, who, url_name):
    from django.test import Client

    clerk, applicant, enterprise = world
    client = {"clerk": login(clerk), "applicant": login(applicant), None: Client()}[who]
    url = reverse(url_name)
    _add_cases(2, applicant, enterprise, department)
    few, small_page = _queries(client, url)
    _add_cases(6, applicant, enterprise, department)
    many, big_page = _queries(client, url)
    assert big_page > small_page, f"{url_name} should show the added rows"
    assert many == few, f"{url_name}: {few} queries with few rows, {many} with more"


# ---------------------------------------------------------------- identity and page chrome


def _statements(client: Client, url: str, **headers) -> list[str]:
    """The statements of a second request (the first fills the caches and, on PostgreSQL,
    prepares the identity statement of the connection)."""
    client.get(url, **headers)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


def test_an_authenticated_trivial_api_get_runs_one_statement(make_user):
    """The token, its owner and the password expiry parameter in one statement; roles,
    permissions and department from the cached identity; last use written once a minute."""
    clerk = make_user("qc_token", "window_clerk")
    token = issue_token(clerk, name="计数", lifetime=dt.timedelta(days=1)).plaintext
    statements = _statements(Client(), "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert len(statements) == 1, statements
    assert "api_apitoken" in statements[0] or statements[0].startswith("EXECUTE")


def test_a_session_api_get_runs_three_statements(make_user, login):
    """The session, its user (with the identity's version), the parameters."""
    statements = _statements(login(make_user("qc_session", "window_clerk")), "/api/v1/me")
    assert len(statements) == 3, statements


def test_page_chrome_runs_four_statements(make_user, login):
    """A page that shows only the chrome (header, sidebar, bell): the session, its user, the
    parameters and the unread count; menus, permissions and department are cached."""
    client = login(make_user("qc_chrome", "window_clerk"))
    statements = _statements(client, reverse("system:password_change"))
    assert len(statements) == 4, statements
    assert sum("notifications_notification" in sql for sql in statements) == 1
    assert not [sql for sql in statements if "system_menu" in sql or "system_role" in sql]
