"""Matching's answers to other apps' events (core.events): each enqueues one background task.

Subscribed in ``MatchingConfig.ready``. The events are published after commit by
``policies.services`` (a policy or a rule version published) and ``enterprises.services`` (an
enterprise's data changed), which therefore import nothing of matching.
"""

from __future__ import annotations

from policywindow.core import events
from policywindow.enterprises.events import EnterpriseChanged
from policywindow.policies.events import PolicyPublished, RulePublished
from policywindow.policies.models import Rule

from .tasks import match_enterprise, match_published_rules


def connect() -> None:
    events.subscribe(RulePublished, rule_published)
    events.subscribe(PolicyPublished, policy_published)
    events.subscribe(EnterpriseChanged, enterprise_changed)


def rule_published(event: RulePublished) -> None:
    match_published_rules.enqueue([event.rule_id])


def policy_published(event: PolicyPublished) -> None:
    rule_ids = list(Rule.objects.filter(policy_id=event.policy_id).values_list("pk", flat=True))
    if rule_ids:
        match_published_rules.enqueue(rule_ids)


def enterprise_changed(event: EnterpriseChanged) -> None:
    match_enterprise.enqueue(event.enterprise_id)
