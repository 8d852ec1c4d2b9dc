"""A rule's budget created while its final approvals run, on PostgreSQL with real parallel
connections: every amount approved is counted in the budget exactly once, whichever commits
first (``budgets._take``, ``create_budget``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from policywindow.finance.models import Budget, Commitment
from policywindow.finance.services import budgets
from tests.finance.factories import decide, filed, make_rule
from tests.waiting import join_all, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]


def _someone_waits_for_an_advisory_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def _both(first: Callable[[], None], second: Callable[[], None]) -> list[BaseException]:
    """``first`` runs in a transaction kept open until ``second`` waits for it (or is done),
    each on its own connection; the errors they raised."""
    opened, done, errors = threading.Event(), threading.Event(), []

    def run_first() -> None:
        try:
            with transaction.atomic():
                first()
                opened.set()
                wait_for(
                    lambda: done.is_set() or _someone_waits_for_an_advisory_lock(),
                    "the second one waiting or done",
                )
        except BaseException as exc:  # reported by the caller's assertion
            opened.set()
            errors.append(exc)
        finally:
            connection.close()

    def run_second() -> None:
        try:
            opened.wait()
            second()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    join_all(threads)
    return errors


@pytest.mark.parametrize("approval_first", [True, False])
def test_a_budget_created_during_a_final_approval_counts_it_once(people, approval_first):
    version = make_rule(people)
    case = filed(people, version, "320000.00")
    decide(case, people.reviewer)

    def approve() -> None:
        decide(case, people.leader)

    def create() -> None:
        budgets.create_budget(people.admin, version.rule, 2026, "1000000")

    errors = _both(approve, create) if approval_first else _both(create, approve)

    assert errors == []
    budget = Budget.objects.get(rule=version.rule, year=2026)
    commitment = Commitment.objects.get(application=case)
    assert commitment.budget == budget
    assert (budget.committed, budget.left) == (Decimal("320000.00"), Decimal("680000.00"))
