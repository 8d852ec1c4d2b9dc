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


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler(event)`` after each commit that published an ``event_type`` (exactly that
    type). Subscribing the same handler twice changes nothing, so ``ready`` may run again."""
    handlers = _subscribers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def subscribers(event_type: type[Event]) -> tuple[Callable[[Any], None], ...]:
    """Who listens to ``event_type``, in the order they subscribed."""
    return tuple(_subscribers.get(event_type, ()))


def publish(event: Event) -> None:
    """Tell each subscriber of ``type(event)`` once the current transaction commits."""
    for handler in subscribers(type(event)):
        transaction.on_commit(partial(handler, event))
