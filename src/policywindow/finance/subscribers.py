"""How finance reacts to other apps' events (core.events), subscribed in ``FinanceConfig.ready``."""

from __future__ import annotations

from typing import Any

from policywindow.applications.events import ApplicationApproved
from policywindow.core import events

from .services import budgets


def application_approved(event: ApplicationApproved) -> dict[str, Any] | None:
    """Take the approved amount from the rule's budget, inside the approval's transaction; a
    refusal (over the budget, a cap, a mutual exclusion) rolls the approval back."""
    return budgets.commit(event.actor, event.application, event.amount, audited=event.audited)


def subscribe() -> None:
    events.subscribe(ApplicationApproved, application_approved, in_transaction=True)
