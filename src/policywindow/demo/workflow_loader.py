"""Publishes the demo workflow of every demo rule that has none, through the designer service."""

from __future__ import annotations

from policywindow.policies.models import Rule
from policywindow.system.models import Department, User
from policywindow.workflow.models import WorkflowDefinition
from policywindow.workflow.services import designer

from .workflow_data import standard_workflow

DEPARTMENTS = ("CZT", "YSJ")


def load_workflows(actor: User) -> int:
    """Draw and publish the standard workflow for demo rules without one; returns how many."""
    ids = dict(Department.objects.filter(code__in=DEPARTMENTS).values_list("code", "pk"))
    drawn = WorkflowDefinition.objects.values("rule_id")
    rules = Rule.objects.filter(policy__is_demo=True, current__isnull=False).exclude(pk__in=drawn)
    created = 0
    for rule in rules.order_by("pk"):
        designer.save_draft(actor, rule, standard_workflow(ids), note="演示：一周办结标准流程")
        designer.publish(actor, rule)
        created += 1
    return created
