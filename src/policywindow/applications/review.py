"""Applications as a workflow subject: what the review of a subsidy application means to it.

The workflow runtime knows cases only as subjects (``workflow.subjects``); this is the first
one. It says how an application is locked (one statement, ``review_locking``), which facts a
node condition reads (the enterprise's registry facts, the typed answers, the amount), who
leads it (the rule version's lead department) and where the applicant is, and what the review's
outcomes do to the application: its status and timeline line (``transitions``), the notice
to the enterprise for a 补正, the approved amount with every lowering and its reason, and the
rule's budget commitment, which finance makes when told ``ApplicationApproved`` inside the
deciding transaction (last: its row is shared by every approval of the rule and year).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.urls import reverse

from policywindow.core import events, provisional
from policywindow.core.calendar import Deadline
from policywindow.core.errors import ValidationFailed
from policywindow.core.money import parse_yuan
from policywindow.workflow import spec as specs
from policywindow.workflow import subjects
from policywindow.workflow.models import TaskStatus, WorkflowTask
from policywindow.workflow.services.runtime import STEP_LABELS, Case, Decision
from policywindow.workflow.subjects import CaseContext, Label

from . import review_locking, transitions
from .events import ApplicationApproved
from .models import Application
from .models import ApplicationStatus as S
from .selectors_filing import application_facts
from .services.supplement import issue_notice, notice_data, validated_supplement_items

MAX_AMOUNT_REASON = 300


class ApplicationSubject(subjects.Subject):
    type = subjects.APPLICATION
    label = "政策兑现申请"
    has_amount = True

    # --- reading and locking -------------------------------------------------------------
    def lock(self, pk: int) -> Application:
        return transitions.lock(pk)

    def lock_task(self, task_id: int) -> WorkflowTask | None:
        return review_locking.locked_task(task_id)

    def workflow_owner(self, row: Application) -> int:
        return row.rule_id

    def no_workflow(self, row: Application) -> str:
        return (
            f"细则“{row.rule_version.title}”尚未发布审批工作流，无法受理；"
            "请联系政策管理员发布后再受理"
        )

    def facts(self, row: Application) -> Mapping[str, Any]:
        return application_facts(row)

    def fact_labels(self, row: Application | None = None) -> dict[str, str]:
        """With a case: its rule version's form items too."""
        items = row.rule_version.items.values_list("key", "label") if row is not None else ()
        return {**specs.condition_facts(), **dict(items)}

    def context(self, row: Application) -> CaseContext:
        return CaseContext(row.rule_version.lead_department_id, row.enterprise.region_id)

    def label_of(self, row: Application) -> Label:
        """The enterprise's name only when the row came with it (a list joined it); messages
        do not show it, and a decision should not read it."""
        party = row.enterprise.name if Application.enterprise.is_cached(row) else ""
        tag = row.rule.code if Application.rule.is_cached(row) else ""
        link = reverse("applications:review_case", args=[row.pk])
        return Label(row.number, row.rule_version.title, party, link, tag=tag)

    def labels(self, ids: Iterable[int]) -> dict[int, Label]:
        rows = Application.objects.filter(pk__in=list(ids)).values_list(
            "pk", "number", "rule_version__title", "enterprise__name", "rule__code"
        )
        return {
            pk: Label(
                number, title, party, reverse("applications:review_case", args=[pk]), tag=code
            )
            for pk, number, title, party, code in rows
        }

    def review_days(self, row: Application) -> int:
        return row.rule_version.review_days

    def due_at(self, row: Application):
        return row.due_at

    # --- what happens ----------------------------------------------------------------------
    def check_amount(self, case: Case, decision: Decision) -> tuple[Decimal | None, str]:
        """An approver may lower the amount (with a reason), never raise it."""
        raw = decision.approved_amount
        if decision.action != "approve" or raw in (None, ""):
            return None, ""
        try:
            amount = parse_yuan(raw, "核定金额")
        except ValueError as exc:
            raise ValidationFailed(str(exc), details={"approved_amount": [str(exc)]}) from exc
        if amount < 0:
            _refuse("approved_amount", "核定金额不能为负数")
        ceiling = current_amount(case.row)
        if ceiling is not None and amount > ceiling:
            _refuse("approved_amount", f"核定金额不能高于当前金额 {ceiling:,.2f} 元")
        reason = (decision.amount_reason or "").strip()
        if ceiling is not None and amount < ceiling and not reason:
            _refuse("amount_reason", "核减金额时必须填写核减理由")
        if len(reason) > MAX_AMOUNT_REASON:
            _refuse("amount_reason", f"核减理由不能超过 {MAX_AMOUNT_REASON} 个字")
        return (amount, reason) if ceiling is None or amount != ceiling else (None, "")

    def check_supplement(
        self, case: Case, items: tuple[dict[str, str], ...]
    ) -> tuple[dict[str, str], ...]:
        return tuple(validated_supplement_items(case.row, list(items)))

    def record(self, case: Case, actor: Any, action: str, note: str, data: dict) -> None:
        transitions.record_event(case.row, actor=actor, action=action, note=note, data=data)

    def finished(self, case: Case, status: str, actor: Any) -> None:
        approved = status == "approved"
        changes: dict[str, Any] = {"decided_at": case.now}
        data = None
        if approved:
            changes["approved_amount"], reductions = _amounts(case.row)
            # The amounts and each lowering's reason go on the timeline line: the enterprise's
            # message and the 审核结果告知书 state them (notices, space.documents).
            data = {
                "requested_amount": _text(case.row.requested_amount),
                "approved_amount": _text(changes["approved_amount"]),
                "reductions": reductions,
            }
        _move(
            case,
            actor,
            S.APPROVED if approved else S.REJECTED,
            action="review_approved" if approved else "review_rejected",
            data=data,
            changes=changes,
        )
        if approved:  # last: finance's budget row is shared by every approval of the rule
            audited = case.gathered is None
            event = ApplicationApproved(case.row, changes["approved_amount"], actor, audited)
            taken = [answer for answer in events.publish(event) if answer is not None]
            if taken and not audited:
                case.gathered["budget"] = taken[0]

    def supplement_requested(
        self, case: Case, actor: Any, reason: str, items: tuple[dict[str, str], ...]
    ) -> None:
        notice = issue_notice(case.row, list(items), reason, actor=actor, now=case.now)
        _move(
            case,
            actor,
            S.SUPPLEMENT_REQUIRED,
            action="review_supplement",
            note=reason,
            data=notice_data(notice),
        )

    def resumed(self, case: Case, actor: Any, due: Deadline, **move: Any) -> None:
        changes = {**move.pop("changes", {}), "due_at": due.due_at}
        transitions.move(case.row, S.IN_REVIEW, actor=actor, changes=changes, **move)
        provisional.remember("due_at", [(case.row, due)])

    def reopened(self, case: Case, actor: Any, due: Deadline, reason: str, *, action: str) -> None:
        transitions.move(
            case.row,
            S.IN_REVIEW,
            actor=actor,
            action=action,
            note=reason,
            changes={"due_at": due.due_at, "decided_at": None, "approved_amount": None},
        )
        provisional.remember("due_at", [(case.row, due)])


def current_amount(application: Application) -> Decimal | None:
    """The amount as it stands: the latest amount an approver set, else the requested one."""
    latest = (
        WorkflowTask.objects.filter(
            application=application, status=TaskStatus.APPROVED, approved_amount__isnull=False
        )
        .order_by("-decided_at", "-id")
        .values_list("approved_amount", flat=True)
        .first()
    )
    return latest if latest is not None else application.requested_amount


def _amounts(application: Application) -> tuple[Decimal | None, list[dict[str, str]]]:
    """The amount as it stands (``current_amount``) and every lowering of it by an approver in
    the order decided (node, amount, reason), from one read."""
    rows = list(
        WorkflowTask.objects.filter(
            application=application, status=TaskStatus.APPROVED, approved_amount__isnull=False
        )
        .order_by("decided_at", "id")
        .values_list("node_name", "approved_amount", "amount_reason")
    )
    current = rows[-1][1] if rows else application.requested_amount
    reductions = [
        {"node": node, "amount": f"{amount:.2f}", "reason": reason}
        for node, amount, reason in rows
        if reason
    ]
    return current, reductions


def _move(case: Case, actor: Any, to_status: str, *, action: str, **move: Any) -> None:
    """Move the application; a decision's one audit event records the move it caused."""
    from_status = case.row.status
    gathered = case.gathered
    transitions.move(
        case.row, to_status, actor=actor, action=action, audited=gathered is None, **move
    )
    if gathered is not None:
        gathered["case"] = {"from": from_status, "to": to_status, "step": action}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _refuse(field: str, message: str) -> None:
    raise ValidationFailed(message, details={field: [message]})


def register() -> None:
    """Called from the app's ``ready()``: applications are a workflow subject, and their
    timeline names the workflow's steps."""
    subjects.register(ApplicationSubject())
    transitions.register_step_labels(STEP_LABELS)
