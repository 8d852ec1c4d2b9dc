"""Gap-free application numbers: ZC + year + six digits, taken under a row lock in the submit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from policywindow.applications import transitions
from policywindow.applications.models import Application, ApplicationSequence
from policywindow.applications.services import filing
from policywindow.applications.services.numbering import format_number, next_number
from policywindow.system.models import User

from .test_filing_factories import (
    link,
    make_enterprise,
    make_rule,
)


def test_format():
    assert format_number(2026, 123) == "ZC2026000123"


@pytest.mark.django_db
def test_numbers_count_up_per_year():
    with transaction.atomic():
        taken = [next_number(2026), next_number(2026), next_number(2027)]
    assert taken == ["ZC2026000001", "ZC2026000002", "ZC2027000001"]


@pytest.mark.django_db(transaction=True)
def test_a_number_is_only_taken_inside_a_transaction():
    with pytest.raises(RuntimeError, match="transaction"):
        next_number(2026)


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        next_number(2026)
        _ = 1 / 0
    with transaction.atomic():
        assert next_number(2026) == "ZC2026000001"


def _drafts(make_user, department, count: int) -> list[tuple[User, Application]]:
    rule = make_rule(department, items=())
    drafts = []
    for n in range(count):
        user = make_user(f"num_qiye{n}", "enterprise", kind=User.Kind.ENTERPRISE)
        enterprise = make_enterprise(f"编号测试企业{n}")
        link(user, enterprise)
        drafts.append((user, filing.start_application(user, enterprise, rule)))
    return drafts


@pytest.mark.django_db
def test_a_submit_that_fails_after_taking_a_number_leaves_no_gap(
    make_user, department, monkeypatch
):
    (user_a, draft_a), (user_b, draft_b) = _drafts(make_user, department, 2)

    def broken_move(*args, **kwargs):
        raise RuntimeError("模拟提交时故障")

    monkeypatch.setattr(transitions, "move", broken_move)
    with pytest.raises(RuntimeError):
        filing.submit(user_a, draft_a)
    monkeypatch.undo()
    assert filing.submit(user_b, draft_b).number.endswith("000001")
    assert Application.objects.get(pk=draft_a.pk).number is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL")
def test_concurrent_submits_get_consecutive_numbers(make_user, department, monkeypatch):
    """12 submits at once, 4 of which fail after taking a number: 1..8, no gaps, no duplicates."""
    drafts = _drafts(make_user, department, 12)
    failing = {application.pk for _, application in drafts[::3]}
    move = transitions.move

    def sometimes_failing_move(application, *args, **kwargs):
        if application.pk in failing:
            raise RuntimeError("模拟提交时故障")
        return move(application, *args, **kwargs)

    monkeypatch.setattr(transitions, "move", sometimes_failing_move)
    barrier = threading.Barrier(len(drafts))
    outcomes: list[str] = []

    def submit(user: User, application: Application) -> None:
        barrier.wait()
        try:
            outcomes.append(filing.submit(user, application).number)
        except RuntimeError:
            outcomes.append("failed")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=pair) for pair in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    year = drafts[0][1].year
    numbers = sorted(n for n in outcomes if n != "failed")
    assert outcomes.count("failed") == 4
    assert numbers == [format_number(year, n) for n in range(1, 9)]
    stored = sorted(Application.objects.exclude(number=None).values_list("number", flat=True))
    assert stored == numbers
    assert ApplicationSequence.objects.get(year=year).last == 8
