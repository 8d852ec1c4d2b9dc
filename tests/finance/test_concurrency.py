"""Final approvals decided at the same instant on PostgreSQL, with real parallel connections:
together they would exceed a limit, so exactly one passes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import DomainError
from policywindow.finance.models import Budget, Commitment
from policywindow.workflow.services import runtime
from tests.applications.test_intake_factories import make_enterprise
from tests.finance.factories import decide, filed, make_budget, make_rule, open_task
from tests.waiting import join_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]


def race(attempts: list[Callable[[], object]]) -> list[str]:
    """Run every attempt in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def run(attempt):
        try:
            barrier.wait()
            attempt()
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    join_all(threads)
    return sorted(outcomes)


def last_approval(case, leader) -> Callable[[], object]:
    task_id = open_task(case, leader).pk
    return lambda: runtime.decide(leader, task_id, runtime.Decision("approve", "同意"))


def waiting_for_the_leader(people, version, amount: str, **kwargs):
    case = filed(people, version, amount, **kwargs)
    decide(case, people.reviewer)
    return case


def test_two_approvals_that_together_exceed_the_budget_cannot_both_pass(people):
    version = make_rule(people)
    budget = make_budget(version, "500000")
    cases = [waiting_for_the_leader(people, version, "300000.00") for _ in range(2)]
    outcomes = race([last_approval(case, people.leader) for case in cases])
    assert outcomes[0] == "ok"
    assert "本年度剩余 200,000.00 元，本次核定 300,000.00 元" in outcomes[1]
    budget.refresh_from_db()
    assert budget.committed == Decimal("300000.00")
    statuses = sorted(type(c).objects.get(pk=c.pk).status for c in cases)
    assert statuses == [S.APPROVED, S.IN_REVIEW]
    assert Commitment.objects.count() == 1


def test_many_approvals_at_once_fill_the_budget_exactly(people):
    version = make_rule(people)
    make_budget(version, "1000000")
    cases = [waiting_for_the_leader(people, version, "300000.00") for _ in range(5)]
    outcomes = race([last_approval(case, people.leader) for case in cases])
    assert outcomes.count("ok") == 3
    budget = Budget.objects.get(rule=version.rule)
    assert (budget.committed, budget.left) == (Decimal("900000.00"), Decimal("100000.00"))


def test_two_rules_of_one_exclusion_group_approved_at_once_for_one_enterprise(people):
    enterprise = make_enterprise()
    rules = [make_rule(people, group="gqjl", title=f"高新技术企业奖励{n}") for n in (1, 2)]
    cases = [
        waiting_for_the_leader(people, rule, "100000.00", enterprise=enterprise) for rule in rules
    ]
    outcomes = race([last_approval(case, people.leader) for case in cases])
    assert outcomes[0] == "ok" and outcomes[1].startswith("与互斥政策冲突")
