"""审批管理 over the REST API: to-do list, decisions with Idempotency-Key, clear errors."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from policywindow.applications.models import ApplicationStatus as S
from policywindow.workflow.models import WorkflowTask
from tests.workflow.test_runtime import accept, two_level_case

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict, **headers):
    return client.post(
        f"/api/v1{url}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_todo_lists_my_open_tasks_with_their_deadline(people):
    case = accept(people, two_level_case(people))
    response = client_for(people["a"]).get("/api/v1/tasks")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["number"], item["node"], item["status_label"]) == (
        case.number,
        "科技厅审核",
        "待办",
    )


def test_a_retried_decision_returns_the_first_result(people):
    case = accept(people, two_level_case(people))
    task = WorkflowTask.objects.get(assignee=people["a"])
    client = client_for(people["a"])
    body = {"action": "approve", "opinion": "同意"}
    first = post(client, f"/tasks/{task.pk}/decision", body, **{"Idempotency-Key": "k-1"})
    again = post(client, f"/tasks/{task.pk}/decision", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and first.json()["status"] == "approved"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert case.events.filter(action="review_approve").count() == 1
    # Without the key a second decision is a clear conflict, not a second approval.
    third = post(client, f"/tasks/{task.pk}/decision", body)
    assert third.status_code == 409 and third.json()["message"] == "该任务已处理，不能重复审批"


def test_errors_name_the_field_and_never_leak_other_peoples_tasks(people):
    case = accept(people, two_level_case(people))
    mine = WorkflowTask.objects.get(assignee=people["a"])
    theirs = WorkflowTask.objects.get(assignee=people["b"])
    client = client_for(people["a"])
    missing = post(client, f"/tasks/{mine.pk}/decision", {"action": "reject", "opinion": " "})
    assert missing.status_code == 400
    assert missing.json()["details"] == {"opinion": ["请填写审批意见"]}
    other = post(client, f"/tasks/{theirs.pk}/decision", {"action": "approve", "opinion": "同意"})
    assert other.status_code == 404
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW


def test_transfer_and_withdraw(people):
    accept(people, two_level_case(people))
    task = WorkflowTask.objects.get(assignee=people["a"])
    client = client_for(people["a"])
    moved = post(
        client, f"/tasks/{task.pk}/transfer", {"to_user": people["a2"].pk, "reason": "休假"}
    )
    assert moved.status_code == 200 and moved.json()["status"] == "transferred"
    mine = WorkflowTask.objects.get(assignee=people["a2"], status="open")
    helper = client_for(people["a2"])
    approved = post(helper, f"/tasks/{mine.pk}/decision", {"action": "approve", "opinion": "同意"})
    assert approved.status_code == 200
    back = post(helper, f"/tasks/{mine.pk}/withdraw", {})
    assert back.status_code == 200 and back.json()["status"] == "withdrawn"
    done = helper.get("/api/v1/tasks/done").json()
    assert [item["status"] for item in done["items"]] == ["withdrawn"]
