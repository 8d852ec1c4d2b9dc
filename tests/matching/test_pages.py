"""The calculator pages (enterprise and public), the REST endpoint and the runs pages."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.matching.models import MatchRun
from policywindow.matching.views import calculator as calculator_views

from .conftest import EMPLOYEE_RULE

pytestmark = pytest.mark.django_db

CALCULATOR = "/portal/calculator/"
PUBLIC = "/policies/calculator/"


@pytest.fixture
def two_rules(rule_for):
    eligible = rule_for(title="研发费用后补助")
    failing = rule_for(EMPLOYEE_RULE, formula="", title="规模企业奖励")
    return eligible, failing


def test_enterprise_sees_eligible_rules_with_amount_and_why_others_fail(
    two_rules, enterprise_with_agent, login
):
    eligible, failing = two_rules
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("3000000"), employees=80)
    page = login(agent).get(CALCULATOR).content.decode()
    assert "研发费用后补助" in page and "300,000.00 元" in page
    assert "贵企业从业人员 80 人，须高于 100 人" in page
    assert reverse("applications:apply_start", args=[eligible.code]) in page
    assert reverse("applications:apply_start", args=[failing.code]) not in page
    assert "立即申报" in page


def test_unknown_data_is_shown_as_missing(rule_for, enterprise_with_agent, login):
    rule_for(title="研发费用后补助")
    _enterprise, agent = enterprise_with_agent(rd_spend=None)
    page = login(agent).get(CALCULATOR).content.decode()
    assert "缺少数据：上年研发费用" in page and "信息不全" in page


def test_a_user_without_an_enterprise_is_told_so(make_user, login, two_rules):
    from policywindow.system.models import User

    lonely = make_user("lonely", "enterprise", kind=User.Kind.ENTERPRISE)
    page = login(lonely).get(CALCULATOR).content.decode()
    assert "尚未关联企业" in page


def calculator_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CALCULATOR).status_code == 200
    return len(queries)


def test_calculator_page_queries_do_not_grow_with_the_rules(rule_for, enterprise_with_agent, login):
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("2000000"))
    client = login(agent)
    rule_for()
    rule_for(EMPLOYEE_RULE)
    calculator_queries(client)  # the first request also records the session
    two = calculator_queries(client)
    for _ in range(4):
        rule_for()  # failing ones: their explanations read the (prefetched) items
        rule_for("export_value >= 1")
    ten = calculator_queries(client)
    assert ten == two
    assert two <= 20


def test_public_calculator_takes_the_facts_the_rules_use(two_rules):
    page = Client().get(PUBLIC).content.decode()
    assert 'name="rd_spend"' in page and "上年研发费用（元）" in page
    assert 'name="employees"' in page and "从业人员（人）" in page
    assert 'name="revenue"' not in page  # no published rule reads it


def test_public_calculator_answers_a_visitor(two_rules):
    response = Client().get(PUBLIC, {"calculate": "1", "rd_spend": "3000000", "employees": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "300,000.00 元" in page
    assert "缺少数据：从业人员" in page
    assert "立即申报" not in page


def test_public_calculator_refuses_bad_numbers(two_rules):
    page = Client().get(PUBLIC, {"calculate": "1", "rd_spend": "-5"}).content.decode()
    assert 'data-field-error="rd_spend"' in page


def test_public_calculator_is_rate_limited(two_rules, monkeypatch):
    monkeypatch.setattr(calculator_views, "PUBLIC_LIMIT", 2)
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.get(PUBLIC, {"calculate": "1", "rd_spend": "1"}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert client.get(PUBLIC).status_code == 200  # the empty form costs nothing


def test_api_lists_the_enterprise_matches(two_rules, enterprise_with_agent, login):
    eligible, failing = two_rules
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("3000000"), employees=None)
    body = login(agent).get("/api/v1/matches").json()
    assert (body["eligible"], body["total"]) == (1, 2)
    first, second = body["items"]
    assert (first["rule"], first["status"], first["expected_amount"]) == (
        eligible.code,
        "eligible",
        "300000.00",
    )
    assert (second["rule"], second["status"], second["unknowns"]) == (
        failing.code,
        "unknown",
        ["缺少数据：从业人员"],
    )


def test_api_without_an_enterprise_is_a_404(make_user, login):
    from policywindow.system.models import User

    lonely = make_user("lonely", "enterprise", kind=User.Kind.ENTERPRISE)
    response = login(lonely).get("/api/v1/matches")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_staff_start_a_run_and_follow_its_progress(
    policy_admin_user, login, rule_for, enterprise_with_agent, django_capture_on_commit_callbacks
):
    from policywindow.matching import services

    rule_for()
    enterprise_with_agent()
    client = login(policy_admin_user)
    assert "全量匹配" in client.get("/policy/matching/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/policy/matching/start/")
    run = MatchRun.objects.get()
    assert response.url == f"/policy/matching/{run.pk}/"
    assert client.get(f"/policy/matching/{run.pk}/progress/").json()["status"] == "queued"
    services.execute_run(run.pk)
    progress = client.get(f"/policy/matching/{run.pk}/progress/").json()
    assert (progress["status"], progress["percent"], progress["pushed"]) == ("done", 100, 1)
    page = client.get(f"/policy/matching/{run.pk}/").content.decode()
    assert 'data-progress-url="/policy/matching/' in page and "100%" in page
    assert json.loads(json.dumps(progress))["finished"] is True
