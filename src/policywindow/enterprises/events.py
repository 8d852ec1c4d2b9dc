"""What the enterprise registry tells other apps after a commit (core.events)."""

from __future__ import annotations

from dataclasses import dataclass

from policywindow.core.events import Event


@dataclass(frozen=True)
class EnterpriseChanged(Event):
    """An enterprise's registered data changed (a clerk's or the enterprise's own edit)."""

    enterprise_id: int
