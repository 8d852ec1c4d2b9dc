"""Approved cases for the finance tests, reviewed through the real workflow.

Not a test module. Each rule is reviewed by the lead department's reviewer, then its leader
(two levels, so "back to the last level" is visible).
"""

from __future__ import annotations

from decimal import Decimal

from policywindow.applications.models import Application
from policywindow.applications.services import intake
from policywindow.enterprises.models import Enterprise
from policywindow.finance.models import Budget
from policywindow.policies.models import RuleVersion
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_version,
)
from tests.workflow.factories import level, node, publish, users


def make_rule(people, *, cap: str | None = None, group: str = "", title: str = "研发费用后补助"):
    version = make_version(people.tech, title=title)
    version.per_enterprise_cap = Decimal(cap) if cap else None
    version.exclusion_group = group
    version.save(update_fields=["per_enterprise_cap", "exclusion_group"])
    publish(
        version.rule,
        level(node("review", "牵头部门审核", users(people.reviewer))),
        level(node("leader", "分管领导审批", users(people.leader))),
    )
    return version


def make_budget(version: RuleVersion, total: str, year: int = 2026) -> Budget:
    return Budget.objects.create(rule=version.rule, year=year, total=Decimal(total))


def filed(
    people, version: RuleVersion, amount: str = "320000.00", enterprise: Enterprise | None = None
):
    """A case of ``version`` accepted at the window: its first task is open."""
    case = make_case(version, enterprise or make_enterprise(), people.applicant)
    case.requested_amount = Decimal(amount)
    case.save(update_fields=["requested_amount"])
    return intake.accept(people.clerk, case, all_complete(case), expected_revision=case.revision)


def open_task(case: Application, user) -> WorkflowTask:
    return WorkflowTask.objects.get(application=case, assignee=user, status="open")


def decide(case: Application, user, **fields) -> WorkflowTask:
    decision = runtime.Decision("approve", fields.pop("opinion", "同意"), **fields)
    return runtime.decide(user, open_task(case, user).pk, decision)


def approved(people, version: RuleVersion, amount: str = "320000.00", **kwargs) -> Application:
    """A case through both levels: approved, its amount taken from the budget."""
    case = filed(people, version, amount, **kwargs)
    decide(case, people.reviewer)
    decide(case, people.leader)
    case.refresh_from_db()
    return case
