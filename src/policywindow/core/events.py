"""Domain events: what happened, told to whoever cares after the transaction commits.

The app that owns a change defines its events (frozen dataclasses of ids, subclassing
``Event``) and publishes them from its services; an app that reacts subscribes in its
``AppConfig.ready``. The publisher imports nothing of its subscribers, so a lower app
(policies, enterprises) sets work going in a higher one (matching) without calling up to it.
docs/architecture.md lists the events and who listens.

Delivery waits for the commit (``transaction.on_commit``): a rolled-back write tells no one and
a subscriber reads what was committed; outside a transaction the event is told at once.
Subscribers are meant to be quick (enqueue a task). One that raises does so, as any on_commit
callback, to the publisher's caller after the commit: the write stands, the error is not hidden.

A subscriber whose work belongs to the same transaction (the budget an approval takes: it may
refuse the approval) subscribes ``in_transaction=True``: it runs at once, inside the
publisher's transaction, its refusal rolls the publisher back, and what it returns comes back
from ``publish``. Such events may carry the locked rows they are about, not only ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.db import transaction


@dataclass(frozen=True)
class Event:
    """Base of every domain event."""


E = TypeVar("E", bound=Event)

_subscribers: dict[type[Event], list[Callable[[Any], None]]] = {}
_in_transaction: dict[type[Event], list[Callable[[Any], Any]]] = {}


def subscribe(
    event_type: type[E], handler: Callable[[E], Any], *, in_transaction: bool = False
) -> None:
    """Call ``handler(event)`` after each commit that published an ``event_type`` (exactly that
    type), or with ``in_transaction`` at once, inside the publisher's transaction. Subscribing
    the same handler twice changes nothing, so ``ready`` may run again."""
    table = _in_transaction if in_transaction else _subscribers
    handlers = table.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def subscribers(
    event_type: type[Event], *, in_transaction: bool = False
) -> tuple[Callable[[Any], Any], ...]:
    """Who listens to ``event_type`` (after the commit, or inside the transaction), in the
    order they subscribed."""
    table = _in_transaction if in_transaction else _subscribers
    return tuple(table.get(event_type, ()))


def publish(event: Event) -> list[Any]:
    """Run the in-transaction subscribers of ``type(event)`` now and return what each returned;
    tell the others once the current transaction commits."""
    answers = [handler(event) for handler in subscribers(type(event), in_transaction=True)]
    for handler in subscribers(type(event)):
        transaction.on_commit(partial(handler, event))
    return answers
