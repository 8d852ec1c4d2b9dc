"""What a decision over the API costs in SQL statements (issue 16): at most 12 for a first-level
approval and 20 for the one that finishes the case, token authentication and an
``Idempotency-Key`` included, on PostgreSQL and SQLite alike.

The request's transaction is real here (``transaction=True``): the statements counted are
those a served request runs, without a test's savepoints around them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from policywindow.api.services import issue_token
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.models import AuditEvent
from policywindow.finance.models import Budget, Commitment
from policywindow.notifications.models import Delivery, Notification
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_intake_factories import make_case, make_version
from tests.workflow.factories import level, node, publish, users
from tests.workflow.test_runtime import accept

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_LEVEL, FINISHING = 12, 20


@pytest.fixture
def case(people):
    """Accepted and waiting for 初审 (rev_a), then 复审 (leader_c); the rule has a budget and
    the enterprise's user a mobile number and an e-mail (its messages have outbox rows)."""
    version = make_version(people["tech"])
    publish(
        version.rule,
        level(node("first", "初审", users(people["a"]))),
        level(node("second", "复审", users(people["c"]))),
    )
    Budget.objects.create(rule=version.rule, year=2026, total=Decimal("1000000.00"))
    applicant = people["applicant"]
    applicant.mobile, applicant.email = "13800000001", "qiye@example.cn"
    applicant.save()
    return accept(people, make_case(version, people["enterprise"], applicant))


def _decide(user, *, key: str) -> tuple[list[str], dict, list[str]]:
    """The statements of one decision on the user's open task, as its owner with a token; and
    the statements prepared for this connection meanwhile (once per connection, not counted)."""
    task = WorkflowTask.objects.get(assignee=user, status="open")
    token = issue_token(user, name="计数", lifetime=dt.timedelta(days=1)).plaintext
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    # A fresh connection, as a served process starts with: what earlier tests prepared on this
    # one (statements outlive their transactions) would hide the lock's one PREPARE.
    connection.close()
    assert client.get("/api/v1/me").status_code == 200  # warm: the identity is cached
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/api/v1/tasks/{task.pk}/decision",
            json.dumps({"action": "approve", "opinion": "同意"}),
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )
    assert response.status_code == 200, response.content
    statements = [query["sql"] for query in captured.captured_queries]
    prepared = [sql for sql in statements if sql.startswith("PREPARE")]
    return [sql for sql in statements if sql not in prepared], response.json(), prepared


def _touching(statements: list[str], table: str) -> list[str]:
    return [sql for sql in statements if f'"{table}"' in sql or f" {table} " in sql]


def test_a_first_level_decision_runs_at_most_twelve_statements(people, case):
    statements, answer, prepared = _decide(people["a"], key="first")

    assert len(statements) <= FIRST_LEVEL, "\n".join(statements)
    assert (answer["status"], answer["number"], answer["node"]) == ("approved", case.number, "初审")
    assert answer["enterprise_name"] == people["enterprise"].name
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    # One locking read of task, instance and case; the decided task and the one it opens
    # written by one statement; one audit event; the next approver's message in one INSERT.
    locking = [sql for sql in statements + prepared if "UPDATE OF" in sql]
    assert len(locking) == (1 if connection.vendor == "postgresql" else 0)
    if locking:
        assert locking[0].endswith(
            'FOR NO KEY UPDATE OF "applications_application", "workflow_workflowinstance", '
            '"workflow_workflowtask"'
        )
    assert len(_touching(statements, "core_auditevent")) == 1
    assert len(_touching(statements, "notifications_notification")) == 1
    writes = [sql for sql in statements if sql.startswith(("UPDATE", "INSERT"))]
    assert len(_touching(writes, "workflow_workflowtask")) == 1
    first = WorkflowTask.objects.get(assignee=people["a"])
    assert (first.status, first.opinion, first.decided_at is not None) == ("approved", "同意", True)
    second = WorkflowTask.objects.get(assignee=people["c"])
    assert (second.status, second.node_name, second.department) == ("open", "复审", people["tech"])
    assert Notification.objects.filter(dedupe_key=f"task:{second.pk}:assigned").count() == 1


def test_the_decision_that_finishes_the_case_runs_at_most_twenty(people, case):
    _decide(people["a"], key="first")

    statements, answer, _ = _decide(people["c"], key="second")

    assert len(statements) <= FINISHING, "\n".join(statements)
    assert answer["status"] == "approved"
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    case.refresh_from_db()
    assert (case.status, case.approved_amount) == (S.APPROVED, Decimal("320000.00"))
    assert Budget.objects.get(rule=case.rule).committed == Decimal("320000.00")
    assert Commitment.objects.get(application=case).amount == Decimal("320000.00")
    # The enterprise is told, by SMS and e-mail too.
    told = Notification.objects.get(recipient=people["applicant"], kind="case_decided")
    assert {d.channel for d in Delivery.objects.filter(notification=told)} == {"sms", "email"}
    # One audit event for the decision, carrying the case's move and the budget it took.
    assert len(_touching(statements, "core_auditevent")) == 1
    event = AuditEvent.objects.get(action="application.review_approve", actor=people["c"])
    assert event.before == {"status": S.IN_REVIEW}
    assert event.after["case"] == {"from": S.IN_REVIEW, "to": S.APPROVED, "step": "review_approved"}
    assert event.after["budget"]["amount"] == "320000.00"
    assert event.after["budget"]["left"] == "680000.00"
