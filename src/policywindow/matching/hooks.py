"""What other apps call after their writes commit: each enqueues one background task.

Called from ``transaction.on_commit`` in ``policies.services`` (a rule version or a policy
published) and ``enterprises.services`` (an enterprise's data changed). The tasks are imported
late so those modules do not import matching's services at start-up.
"""

from __future__ import annotations


def rule_published(rule_id: int) -> None:
    from .tasks import match_published_rules

    match_published_rules.enqueue([rule_id])


def policy_published(policy_id: int) -> None:
    from policywindow.policies.models import Rule

    from .tasks import match_published_rules

    rule_ids = list(Rule.objects.filter(policy_id=policy_id).values_list("pk", flat=True))
    if rule_ids:
        match_published_rules.enqueue(rule_ids)


def enterprise_changed(enterprise_id: int) -> None:
    from .tasks import match_enterprise

    match_enterprise.enqueue(enterprise_id)
