"""The API's to-do and done lists (issue 16): page numbers as before, and a ``next`` cursor that
reads on from where a page ended (keyset paging) — the same rows in the same order either way;
only the columns shown are read, a deep page costs what the first one does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from tests.workflow.test_runtime import accept, two_level_case

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def tasks(people):
    """Seven open tasks of rev_a, three of them due at the same instant (ties broken by id),
    and four it decided, two of them at the same instant."""
    for _ in range(11):
        accept(people, two_level_case(people))
    mine = list(WorkflowTask.objects.filter(assignee=people["a"]).order_by("id"))
    for task in mine[7:]:
        runtime.decide(people["a"], task.pk, Decision("approve", "同意"))
    WorkflowTask.objects.filter(pk__in=[t.pk for t in mine[2:5]]).update(due_at=MOMENT)
    WorkflowTask.objects.filter(pk__in=[t.pk for t in mine[8:10]]).update(decided_at=MOMENT)
    return mine


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pages(client: Client, url: str, size: int, *, by_cursor: bool) -> list[dict]:
    """Every page of a list, following ``next`` or counting pages."""
    pages, query = [], {"page_size": size}
    while True:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        if pages[-1]["next"] is None:
            return pages
        page = pages[-1]["page"] + 1
        query = {"page_size": size, "page": page}
        if by_cursor:
            query["cursor"] = pages[-1]["next"]


@pytest.mark.parametrize(
    ("url", "status", "order"),
    [
        ("/api/v1/tasks", "open", ("due_at", "id")),
        ("/api/v1/tasks/done", "approved", ("-decided_at", "-id")),
    ],
)
def test_cursors_and_page_numbers_give_every_row_once_in_order(people, tasks, url, status, order):
    client = _client(people["a"])
    expected = list(
        WorkflowTask.objects.filter(assignee=people["a"], status=status)
        .order_by(*order)
        .values_list("pk", flat=True)
    )
    assert len(expected) in (7, 4)
    for by_cursor in (False, True):
        pages = _pages(client, url, 3, by_cursor=by_cursor)
        seen = [item["id"] for page in pages for item in page["items"]]
        assert seen == expected, f"by_cursor={by_cursor}"
        assert {page["total"] for page in pages} == {len(expected)}
        assert [len(page["items"]) for page in pages][:-1] == [3] * (len(pages) - 1)


def test_a_page_shows_its_case_from_columns_of_the_task_query(people, tasks):
    client = _client(people["a"])
    client.get("/api/v1/tasks")
    with CaptureQueriesContext(connection) as first:
        one = client.get("/api/v1/tasks", {"page_size": 2}).json()
    with CaptureQueriesContext(connection) as deep:
        client.get("/api/v1/tasks", {"page_size": 2, "page": 4})
    with CaptureQueriesContext(connection) as after:
        client.get("/api/v1/tasks", {"page_size": 2, "cursor": one["next"]})
    assert len(first) == len(deep) == len(after)
    item = one["items"][0]
    task = WorkflowTask.objects.select_related("application__enterprise").get(pk=item["id"])
    assert (item["number"], item["enterprise_name"], item["node"]) == (
        task.application.number,
        task.application.enterprise.name,
        task.node_name,
    )
    rows = [
        q["sql"] for q in first.captured_queries if '"workflow_workflowtask"."id" IN' in q["sql"]
    ]
    assert len(rows) == 1
    # Not a column of the case it does not show (its answers, form, eligibility: JSON).
    assert '"applications_application"."answers"' not in rows[0]
    assert '"applications_application"."form_snapshot"' not in rows[0]


def test_a_decided_task_is_never_shown_as_provisional(people, tasks):
    """Only an open task's deadline is computed again when its year is loaded."""
    far = timezone.now() + dt.timedelta(days=3650)  # past any loaded holiday table
    WorkflowTask.objects.filter(assignee=people["a"]).update(due_at=far)
    client = _client(people["a"])
    todo = client.get("/api/v1/tasks").json()["items"]
    done = client.get("/api/v1/tasks/done").json()["items"]
    assert todo and all(item["due_provisional"] for item in todo)
    assert done and not any(item["due_provisional"] for item in done)


@pytest.mark.parametrize("cursor", ["abc", "12-", "-1-2", "9" * 20 + "-1", "1" * 41])
def test_a_cursor_not_given_by_the_list_is_refused(people, cursor):
    response = _client(people["a"]).get("/api/v1/tasks", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["details"]
