"""The API's consistent contract (docs/api.md "Conventions"): money is a string with at most two
decimals, every time is Beijing time with +08:00, a state conflict wins over bad content, and
status values are declared in the schema with their Chinese labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.services import submissions
from tests.applications.test_intake_factories import make_case, make_enterprise
from tests.finance.conftest import people  # noqa: F401 (the cast around an approved case)
from tests.finance.factories import filed, make_budget, make_rule, open_task
from tests.finance.payments import issued, passed

pytestmark = pytest.mark.django_db
JSON = "application/json"
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T")


def _post(client: Client, url: str, body: dict[str, Any]):
    return client.post(f"/api/v1{url}", body, content_type=JSON)


def _times(value: Any) -> Iterator[str]:
    """Every date-time string anywhere in a JSON document."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _times(item)
    elif isinstance(value, str) and DATETIME.match(value):
        yield value


@pytest.mark.parametrize("amount", [300000.5, 300000, "1234567.891"])
def test_money_is_a_string_with_at_most_two_decimals(people, login, amount):  # noqa: F811
    case = filed(people, make_rule(people))
    task = open_task(case, people.reviewer)
    decision = _post(
        login(people.reviewer),
        f"/tasks/{task.pk}/decision",
        {"action": "approve", "opinion": "同意", "approved_amount": amount},
    )
    assert decision.status_code == 400, decision.content
    assert list(decision.json()["details"]) == ["approved_amount"]
    payment = _post(
        login(people.finance),
        "/disbursements",
        {"fund_form_id": 1, "amount": amount, "paid_on": "2026-11-20", "voucher": "GK-1"},
    )
    assert payment.status_code == 400, payment.content
    assert list(payment.json()["details"]) == ["amount"]
    task.refresh_from_db()
    assert task.status == "open"


def test_amounts_are_answered_with_exactly_two_decimals(people, login):  # noqa: F811
    case = filed(people, make_rule(people), amount="320000")
    task = open_task(case, people.reviewer)
    decided = _post(
        login(people.reviewer),
        f"/tasks/{task.pk}/decision",
        {
            "action": "approve",
            "opinion": "同意",
            "approved_amount": "300000.5",
            "amount_reason": "核减",
        },
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["approved_amount"] == "300000.50"
    shown = login(people.reviewer).get(f"/api/v1/applications/{case.pk}").json()
    assert shown["requested_amount"] == "320000.00"


def test_every_time_is_beijing_time(people, login):  # noqa: F811
    version = make_rule(people)
    make_budget(version, "1000000")
    submissions.submit(people.admin, issued(people, [passed(people, version, "300000.00")]).pk)
    case = filed(people, version)
    reviewer = login(people.reviewer)
    responses = [
        reviewer.get("/api/v1/tasks"),
        reviewer.get(f"/api/v1/applications/{case.pk}"),
        reviewer.get(f"/api/v1/applications/{case.pk}/timeline"),
        login(people.finance).get("/api/v1/finance-submissions"),
    ]
    times = []
    for response in responses:
        assert response.status_code == 200, response.content
        times += list(_times(response.json()))
    assert len(times) >= 8  # opened_at, due_at, submitted_at, created_at, timeline, …
    assert [time for time in times if not time.endswith("+08:00")] == []


def test_a_decided_task_is_a_conflict_whatever_the_body(people, login):  # noqa: F811
    case = filed(people, make_rule(people))
    task = open_task(case, people.reviewer)
    client = login(people.reviewer)
    url = f"/tasks/{task.pk}/decision"
    assert _post(client, url, {"action": "approve", "opinion": "同意"}).status_code == 200
    again = _post(client, url, {"action": "reject", "opinion": " "})
    assert again.status_code == 409, again.content
    assert again.json()["message"] == "该任务已处理，不能重复审批"
    moved = _post(client, f"/tasks/{task.pk}/transfer", {"to_user": 0, "reason": ""})
    assert moved.status_code == 409, moved.content
    # Someone else's task stays hidden, however bad the body.
    other = login(people.leader)
    assert _post(other, url, {"action": "reject", "opinion": ""}).status_code == 404


def test_a_stale_revision_is_a_conflict_before_the_checklist(people, login):  # noqa: F811
    case = make_case(make_rule(people), make_enterprise(), people.applicant)
    clerk = login(people.clerk)
    bodies = {
        "accept": {"checklist": [{"key": "nope", "result": "missing"}], "expected_revision": 7},
        "supplement": {"items": [], "expected_revision": 7},
        "refuse": {"reason": " ", "expected_revision": 7},
    }
    for operation, body in bodies.items():
        response = _post(clerk, f"/applications/{case.pk}/{operation}", body)
        assert response.status_code == 409, (operation, response.content)
        assert response.json()["details"] == {"revision": case.revision}
    case.refresh_from_db()
    assert case.status == S.SUBMITTED
    # With the current revision the same checklist is the 400 naming the item.
    bodies["accept"]["expected_revision"] = case.revision
    refused = _post(clerk, f"/applications/{case.pk}/accept", bodies["accept"])
    assert refused.status_code == 400 and "checklist" in refused.json()["details"]


def test_status_values_are_declared_with_their_labels(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    declared = {
        name: schema["properties"]["status"]
        for name, schema in schemas.items()
        if "status" in schema.get("properties", {})
    }
    application = declared["ApplicationSummaryOut"]
    assert application["enum"] == list(S.values)
    assert "in_finance = 待拨付" in application["description"]
    assert "draft = 草稿" in application["description"]
    assert "open = 待办" in declared["TaskOut"]["description"]
    assert declared["SubmissionOut"]["enum"] == ["submitted", "received", "returned"]
