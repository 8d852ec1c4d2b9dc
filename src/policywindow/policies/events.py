"""What the policy library tells other apps after a commit (core.events)."""

from __future__ import annotations

from dataclasses import dataclass

from policywindow.core.events import Event


@dataclass(frozen=True)
class PolicyPublished(Event):
    """A policy was published; its rules' current versions now apply to enterprises."""

    policy_id: int


@dataclass(frozen=True)
class RulePublished(Event):
    """A new version of a rule was published and is now the rule's current one."""

    rule_id: int
