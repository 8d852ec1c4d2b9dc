"""Domain events (core/events.py): told to their subscribers after the commit, never before,
never after a rollback, only to those of that event type."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from policywindow.core import events


@dataclass(frozen=True)
class Happened(events.Event):
    thing_id: int


@dataclass(frozen=True)
class Other(events.Event):
    thing_id: int


@pytest.fixture
def heard(monkeypatch) -> list[events.Event]:
    """What a subscriber of ``Happened`` was told (the app's own subscriptions set aside)."""
    monkeypatch.setattr(events, "_subscribers", {})
    told: list[events.Event] = []
    events.subscribe(Happened, told.append)
    return told


@pytest.mark.django_db
def test_an_event_is_told_after_the_commit_not_before(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(Happened(1))
        assert heard == []
    assert heard == [Happened(1)]


@pytest.mark.django_db
def test_a_rolled_back_event_is_told_to_no_one(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            events.publish(Happened(1))
            raise RuntimeError("the write failed")
        events.publish(Happened(2))
    assert heard == [Happened(2)]


@pytest.mark.django_db
def test_only_subscribers_of_that_event_type_hear_it(heard, django_capture_on_commit_callbacks):
    others: list[events.Event] = []
    events.subscribe(Other, others.append)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(Other(7))
    assert (heard, others) == ([], [Other(7)])


def test_subscribing_twice_is_subscribing_once(heard):
    events.subscribe(Happened, heard.append)
    assert events.subscribers(Happened) == (heard.append,)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_event_is_told_at_once(heard):
    events.publish(Happened(3))
    assert heard == [Happened(3)]


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_is_not_hidden_and_the_write_stands(monkeypatch):
    monkeypatch.setattr(events, "_subscribers", {})

    def broken(event: Happened) -> None:
        raise LookupError(f"no queue for {event.thing_id}")

    events.subscribe(Happened, broken)
    with pytest.raises(LookupError, match="no queue for 4"), transaction.atomic():
        Session.objects.create(session_key="k" * 32, session_data="", expire_date=timezone.now())
        events.publish(Happened(4))
    assert Session.objects.filter(session_key="k" * 32).exists()


def test_the_policy_and_enterprise_events_have_matching_as_subscriber():
    from policywindow.enterprises.events import EnterpriseChanged
    from policywindow.matching import subscribers
    from policywindow.policies.events import PolicyPublished, RulePublished

    assert events.subscribers(RulePublished) == (subscribers.rule_published,)
    assert events.subscribers(PolicyPublished) == (subscribers.policy_published,)
    assert events.subscribers(EnterpriseChanged) == (subscribers.enterprise_changed,)


@pytest.mark.django_db
def test_an_in_transaction_subscriber_runs_at_once_and_its_refusal_rolls_back(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(events, "_subscribers", {})
    monkeypatch.setattr(events, "_in_transaction", {})
    later: list[events.Event] = []
    events.subscribe(Happened, later.append)
    events.subscribe(Happened, lambda event: f"took {event.thing_id}", in_transaction=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert events.publish(Happened(5)) == ["took 5"]
        assert later == []
    assert later == [Happened(5)]

    def refuse(event: Happened) -> None:
        raise ValueError(f"over the budget for {event.thing_id}")

    events.subscribe(Other, refuse, in_transaction=True)
    with pytest.raises(ValueError, match="over the budget for 6"), transaction.atomic():
        Session.objects.create(session_key="r" * 32, session_data="", expire_date=timezone.now())
        events.publish(Other(6))
    assert not Session.objects.filter(session_key="r" * 32).exists()


def test_finance_takes_an_approval_from_the_budget_inside_the_decision():
    from policywindow.applications.events import ApplicationApproved
    from policywindow.finance import subscribers

    assert events.subscribers(ApplicationApproved, in_transaction=True) == (
        subscribers.application_approved,
    )
    assert events.subscribers(ApplicationApproved) == ()
