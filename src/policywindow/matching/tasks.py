"""Background work of 政策匹配, run by ``policywindow worker``."""

from __future__ import annotations

import dataclasses

from django_tasks import task

from policywindow.policies.models import Rule

from . import services
from .models import MatchRun


@task()
def run_matching(run_id: int) -> dict[str, int]:
    """Run a queued batch run (the runs page and ``start_run`` enqueue it)."""
    run = services.execute_run(run_id)
    return {"done": run.done, "pushed": run.pushed, "granted": run.granted}


@task()
def match_published_rules(rule_ids: list[int]) -> dict[str, int]:
    """After a rule version or a policy is published: every enterprise against those rules."""
    rules = list(Rule.objects.filter(pk__in=rule_ids))
    if not rules:
        return {"done": 0, "pushed": 0, "granted": 0}
    run = services.create_run(None, trigger=MatchRun.Trigger.PUBLISH, rules=rules)
    return run_matching.call(run.pk)


@task()
def match_enterprise(enterprise_id: int) -> dict[str, int]:
    """After an enterprise's data changed: the enterprise against every published rule."""
    return dataclasses.asdict(services.match_enterprise(enterprise_id))
