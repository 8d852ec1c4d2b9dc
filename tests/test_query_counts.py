"""List pages run a fixed number of SQL queries however many rows they show (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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
