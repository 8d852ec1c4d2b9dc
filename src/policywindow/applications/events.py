"""What an application's review tells other apps (core.events)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policywindow.core.events import Event


@dataclass(frozen=True)
class ApplicationApproved(Event):
    """The review approved a *locked* application with ``amount`` (None: a rule granting no
    money). Told inside the deciding transaction: finance takes the amount from the rule's
    budget there and may refuse the approval (``finance.subscribers``). ``audited``: whether the
    subscriber logs its own event; False when the decision's one event records what it took."""

    application: Any
    amount: Decimal | None
    actor: Any
    audited: bool
