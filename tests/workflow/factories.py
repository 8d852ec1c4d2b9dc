"""Workflows for tests: published definitions built directly with the ORM.

Not a test module (it holds no tests). Every rule the application factories make gets a
one-node workflow by default, so accepting a case at the window starts a review, as in
production where a rule without a published workflow cannot be accepted.
"""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from policywindow.policies.models import Rule
from policywindow.system.models import Department, Role, User
from policywindow.workflow.models import WorkflowDefinition

_seq = itertools.count(1)


def node(key: str, name: str, assignee: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "assignee": assignee,
        "mode": fields.pop("mode", "any"),
        "limit": fields.pop("limit", {"value": 2, "unit": "days"}),
        "on_reject": fields.pop("on_reject", "end"),
        "on_timeout": fields.pop("on_timeout", "remind"),
        "condition": fields.pop("condition", ""),
    }


def users(*people: User) -> dict[str, Any]:
    return {"kind": "users", "user_ids": [person.pk for person in people]}


def level(*nodes: dict[str, Any], parallel: bool = True, name: str = "") -> dict[str, Any]:
    return {"name": name, "parallel": parallel, "nodes": list(nodes)}


def publish(rule: Rule, *levels: dict[str, Any], by: User | None = None) -> WorkflowDefinition:
    """Publish ``levels`` as the rule's workflow (retiring any earlier one)."""
    by = by or _staff(rule.current.lead_department, "工作流配置员")
    WorkflowDefinition.objects.filter(rule=rule, status="published").update(status="retired")
    version = WorkflowDefinition.objects.filter(rule=rule).count() + 1
    return WorkflowDefinition.objects.create(
        rule=rule,
        version=version,
        status=WorkflowDefinition.Status.PUBLISHED,
        spec={"levels": list(levels)},
        created_by=by,
        published_by=by,
        published_at=timezone.now(),
    )


def publish_single_reviewer(rule: Rule) -> User:
    """The default: one 或签 node acted on by a new reviewer of the lead department."""
    reviewer = _staff(rule.current.lead_department, "审核员")
    publish(rule, level(node("review", "牵头部门审核", users(reviewer))))
    return reviewer


def _staff(department: Department, name: str, *roles: str) -> User:
    n = next(_seq)
    user = User.objects.create(
        username=f"wf_{n}",
        real_name=f"{name}{n}",
        kind=User.Kind.STAFF,
        department=department,
        must_change_password=False,
    )
    user.roles.set(Role.objects.filter(code__in=roles))
    return user
