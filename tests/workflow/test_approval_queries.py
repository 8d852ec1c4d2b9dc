"""The approval lists run a fixed number of SQL queries however many rows they show (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from tests.workflow.factories import level, node, users
from tests.workflow.test_approval_pages import people, two_level_case  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> tuple[int, int]:
    """(queries, rows shown) of a second request (the first warms per-process caches)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response.content.decode().count("data-task=")


def _add_cases(crew, count: int) -> None:
    """Cases where rev_a and rev_a2 share a 或签 node, rev_a has decided one task of each."""
    shared = level(node("tech", "科技厅审核", users(crew["a"], crew["a2"])))
    for _ in range(count):
        two_level_case(crew, first=shared)
        done = two_level_case(crew)
        task = WorkflowTask.objects.get(application=done, assignee=crew["a"])
        runtime.decide(crew["a"], task.pk, Decision("approve", "同意"))


@pytest.mark.parametrize(
    ("who", "url_name"),
    [
        ("a", "workflow:todo"),
        ("a", "workflow:done"),
        ("chief", "workflow:queue"),
        ("chief", "workflow:approvers"),
        ("chief", "applications:review_stats"),
    ],
)
def test_approval_lists_do_not_query_per_row(people, login, make_user, who, url_name):  # noqa: F811
    chief = make_user("chief", "section_chief", dept=people["tech"], real_name="科长")
    client = login({"a": people["a"], "chief": chief}[who])
    url = reverse(url_name)
    _add_cases(people, 2)
    few, few_rows = _queries(client, url)
    _add_cases(people, 5)
    many, many_rows = _queries(client, url)
    if url_name not in ("workflow:approvers", "applications:review_stats"):
        assert many_rows > few_rows, f"{url_name} should show the added rows"
    assert many == few, f"{url_name}: {few} queries with few rows, {many} with more"


def test_the_case_page_query_count_does_not_grow_with_its_history(people, login):  # noqa: F811
    """Tasks, attachments and timeline lines are read in bulk, not per row."""
    small = two_level_case(people)
    big = two_level_case(people)
    for user in (people["b"], people["a"]):
        task = WorkflowTask.objects.get(application=big, assignee=user)
        runtime.decide(user, task.pk, Decision("approve", "同意"))
    runtime.withdraw(people["a"], task.pk)  # rev_a has an open task on both cases again
    client = login(people["a"])
    counts = []
    for case in (small, big):
        url = reverse("applications:review_case", args=[case.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
