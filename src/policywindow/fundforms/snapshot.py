"""The content of a form, frozen as JSON when it is issued (the PDF is rendered from it alone).

Each department's opinion is the decided tasks of the final round of each workflow node:
an earlier round was superseded by a return, and cancelled, withdrawn or transferred tasks
are not opinions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.workflow.models import TaskStatus, WorkflowTask

OPINION_STATUSES = (TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.RETURNED)


def person(user: Any) -> str:
    return (user.real_name or user.username) if user is not None else ""


def local_iso(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def _decision(task: WorkflowTask) -> dict[str, str]:
    return {
        "reviewer": person(task.assignee),
        "result": task.status,
        "result_label": TaskStatus(task.status).label,
        "opinion": task.opinion,
        "decided_at": local_iso(task.decided_at),
        "approved_amount": str(task.approved_amount) if task.approved_amount is not None else "",
        "amount_reason": task.amount_reason,
    }


def opinions(tasks: list[WorkflowTask]) -> list[dict[str, Any]]:
    """One entry per node in workflow order (level, then first task), with its final decisions."""
    by_node: dict[str, list[WorkflowTask]] = defaultdict(list)
    for task in sorted(tasks, key=lambda t: (t.level, t.pk)):
        by_node[task.node_key].append(task)
    rows = []
    for node_tasks in by_node.values():
        final = max(task.round for task in node_tasks)
        decided = [
            task
            for task in node_tasks
            if task.round == final and task.status in OPINION_STATUSES and task.decided_at
        ]
        if not decided:
            continue
        decided.sort(key=lambda t: (t.decided_at, t.pk))
        departments = {t.department.name for t in decided if t.department_id}
        rows.append(
            {
                "node": decided[0].node_name,
                "department": "、".join(sorted(departments)),
                "decisions": [_decision(task) for task in decided],
            }
        )
    return rows


def reductions(
    rows: list[dict[str, Any]], requested: Decimal | None, approved: Decimal
) -> list[dict[str, str]]:
    """The lowering decisions with their reasons, when the approved amount is below the request."""
    if requested is None or approved >= requested:
        return []
    return [
        {
            "node": row["node"],
            "reviewer": decision["reviewer"],
            "amount": decision["approved_amount"],
            "reason": decision["amount_reason"],
        }
        for row in rows
        for decision in row["decisions"]
        if decision["approved_amount"] and decision["amount_reason"]
    ]


def build(
    application: Application, *, number: str, issued_at: dt.datetime, issued_by: Any
) -> dict[str, Any]:
    """The form's content; ``application`` comes with its rule, policy, enterprise and tasks
    (with assignee and department) loaded, see ``selectors.issuable``."""
    policy, version, enterprise = (
        application.rule.policy,
        application.rule_version,
        application.enterprise,
    )
    rows = opinions(list(application.tasks.all()))
    approved = application.approved_amount
    return {
        "number": number,
        "issued_at": local_iso(issued_at),
        "issued_by": person(issued_by),
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "demo": bool(policy.is_demo or enterprise.is_demo),
        "policy": {
            "title": policy.title,
            "doc_number": policy.doc_number,
            "issuer": policy.issuing_department.name,
        },
        "rule": {"code": application.rule.code, "title": version.title, "version": version.version},
        "application": {
            "number": application.number,
            "year": application.year,
            "lead_department": application.department.name,
            "decided_at": local_iso(application.decided_at),
        },
        "enterprise": {
            "name": enterprise.name,
            "credit_code": enterprise.credit_code,
            "legal_representative": enterprise.legal_representative,
            "bank_name": enterprise.bank_name,
            "bank_account": enterprise.bank_account,
        },
        "requested_amount": str(application.requested_amount or ""),
        "approved_amount": str(approved),
        "opinions": rows,
        "reductions": reductions(rows, application.requested_amount, approved),
    }
