"""Running a case through its workflow: start, decide, transfer, withdraw, resume after 补正.

Every operation locks the application row, then the instance row (always in that order, as
intake and filing do), feeds one event to the pure engine and writes what it says: task rows,
the instance's state, the application's status, a timeline line, an audit event and, through
the notification outbox, a message — all in one transaction. Two decisions on the same case
therefore run one after the other; a task already decided gives a clear ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors_filing import application_facts
from policywindow.applications.services.supplement import (
    issue_notice,
    notice_data,
    validated_supplement_items,
)
from policywindow.core import audit, calendar, provisional
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.files import (
    DEFAULT_TYPES,
    FILE_TYPES,
    check_file,
    clean_original_name,
    random_name,
    sha256_of,
)
from policywindow.core.money import parse_yuan
from policywindow.finance.services import budgets
from policywindow.notifications.services import notify
from policywindow.system.models import User

from .. import candidates
from .. import engine as core
from .. import spec as specs
from ..definition import DefinitionError
from ..models import (
    InstanceStatus,
    TaskAttachment,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowTask,
)
from ..serialize import definition_from_json, definition_to_json, state_from_json, state_to_json

MAX_OPINION = 500
MAX_ATTACHMENTS = 5
ATTACHMENT_MB = 20
ACTIONS = {
    "approve": "通过",
    "reject": "驳回",
    "return_previous": "退回上一级",
    "return_supplement": "退回企业补正",
}
# Timeline (and operation-log) wording of each workflow step on an application.
TIMELINE_LABELS = {
    "review_start": "启动审批流程",
    "review_approve": "审批通过",
    "review_reject": "审批驳回",
    "review_return_previous": "退回上一级审批",
    "review_return_supplement": "审批退回企业补正",
    "review_transfer": "转办",
    "review_withdraw": "撤回审批",
    "review_approved": "审核通过",
    "review_rejected": "审核不通过",
    "review_supplement": "审核中要求补正",
}
AUDIT_LABELS = {
    "workflow.save": "保存工作流草稿",
    "workflow.publish": "发布工作流",
    "workflow.copy": "复制工作流",
}
_INSTANCE_STATUS = {
    "running": InstanceStatus.RUNNING,
    "supplement": InstanceStatus.SUPPLEMENT,
    "approved": InstanceStatus.APPROVED,
    "rejected": InstanceStatus.REJECTED,
    "withdrawn": InstanceStatus.WITHDRAWN,
}
_CONFLICTS = (core.TaskNotOpen, core.CaseStateError, core.WithdrawNotAllowed, core.UnknownTask)


@dataclass(frozen=True)
class Decision:
    """What an approver decided on a task, as the decision form submits it."""

    action: str
    opinion: str
    approved_amount: Decimal | str | None = None
    amount_reason: str = ""
    supplement_items: tuple[dict[str, str], ...] = field(default_factory=tuple)


@dataclass
class _Case:
    """The locked rows of one case and the spec its workflow version was drawn with."""

    application: Application
    instance: WorkflowInstance
    spec: specs.WorkflowSpec
    now: dt.datetime

    @property
    def definition(self):
        return definition_from_json(self.instance.definition)

    @property
    def state(self) -> core.State:
        return state_from_json(self.instance.state)


# --------------------------------------------------------------------------- start
def published_workflow(rule_id: int) -> WorkflowDefinition | None:
    return WorkflowDefinition.objects.filter(
        rule_id=rule_id, status=WorkflowDefinition.Status.PUBLISHED
    ).first()


def start(actor: Any, application: Application) -> WorkflowInstance:
    """Start the rule's published workflow for a *locked* application that was just accepted.

    Refused (``Conflict``, nothing written by the caller's transaction) when the rule has no
    published workflow or a node that applies to this case has nobody to act.
    """
    workflow = published_workflow(application.rule_id)
    if workflow is None:
        raise Conflict(
            f"细则“{application.rule_version.title}”尚未发布审批工作流，无法受理；"
            "请联系政策管理员发布后再受理"
        )
    spec = specs.parse(workflow.spec)
    try:
        prepared = specs.build_definition(spec, application, application_facts(application))
    except DefinitionError as exc:
        raise Conflict(f"无法启动审批流程：{exc.message}") from exc
    now = timezone.now()
    initial = core.initial_state(prepared.definition)
    instance = WorkflowInstance.objects.create(
        application=application,
        workflow=workflow,
        definition=definition_to_json(prepared.definition),
        notes=prepared.notes,
        state=state_to_json(initial),
        started_at=now,
    )
    case = _Case(application, instance, spec, now)
    _apply(case, core.Start(), actor)
    transitions.record_event(
        application,
        actor=actor,
        action="review_start",
        data={"workflow": workflow.pk, "version": workflow.version},
    )
    return instance


# --------------------------------------------------------------------------- decisions
def decide(
    actor: Any, task_id: int, decision: Decision, files: Iterable[UploadedFile] = ()
) -> WorkflowTask:
    """Approve, reject or return one task; see ``Decision``. ``files`` are attached to it."""
    if decision.action not in ACTIONS:
        raise ValidationFailed("请选择审批结论", details={"action": ["请选择审批结论"]})
    opinion = _checked_opinion(decision.opinion)
    kinds = _checked_files(files := list(files))
    with transaction.atomic():
        case, task = _lock_task(actor, task_id)
        amount, amount_reason = _checked_amount(case, decision)
        items = _supplement_items(case, task, decision)
        event = _event(decision.action, task, actor, opinion)

        def record_decision() -> None:
            # Before the case moves: the timeline reads decision, then outcome, and the
            # approved amount of a finished case includes this approver's amount.
            task.refresh_from_db()
            task.opinion, task.approved_amount, task.amount_reason = opinion, amount, amount_reason
            task.save(update_fields=["opinion", "approved_amount", "amount_reason"])
            for upload, kind in zip(files, kinds, strict=True):
                _attach(task, upload, kind)
            _record(case, actor, f"review_{decision.action}", task, opinion, amount=amount)

        _apply(case, event, actor, supplement_items=items, before_case_moves=record_decision)
        return task


def _checked_files(files: list[UploadedFile]) -> list[str]:
    """The sniffed kind of each attachment (PDF or image), or a field error naming the file."""
    if len(files) > MAX_ATTACHMENTS:
        message = f"审批附件最多 {MAX_ATTACHMENTS} 个"
        raise ValidationFailed(message, details={"attachments": [message]})
    try:
        return [
            check_file(f, allowed_types=DEFAULT_TYPES, max_size_mb=ATTACHMENT_MB) for f in files
        ]
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={"attachments": exc.messages}) from exc


def _attach(task: WorkflowTask, upload: UploadedFile, kind: str) -> TaskAttachment:
    attachment = TaskAttachment(
        task=task,
        original_name=clean_original_name(upload.name),
        content_type=FILE_TYPES[kind].mime,
        size=upload.size,
        sha256=sha256_of(upload),
    )
    attachment.file.save(random_name(kind), upload, save=False)
    attachment.save()
    return attachment


def approve_many(actor: Any, task_ids: Iterable[int], opinion: str) -> dict[int, str]:
    """Batch approval of 或签 tasks, each in its own transaction: task id -> "" or the error."""
    task_ids = list(task_ids)
    modes = dict(WorkflowTask.objects.filter(pk__in=task_ids).values_list("pk", "mode"))
    results: dict[int, str] = {}
    for task_id in task_ids:
        if modes.get(task_id) != "any":
            results[task_id] = "只有或签任务可以批量审批"
            continue
        try:
            decide(actor, task_id, Decision("approve", opinion))
            results[task_id] = ""
        except (Conflict, ValidationFailed, PermissionDenied, NotFound) as exc:
            results[task_id] = exc.message
    return results


def transfer(actor: Any, task_id: int, to_user_id: int, reason: str) -> WorkflowTask:
    """转办: hand an open task to another active staff member of the task's department."""
    reason = _checked_opinion(reason, label="转办说明")
    with transaction.atomic():
        case, task = _lock_task(actor, task_id)
        target = User.objects.filter(pk=to_user_id, kind=User.Kind.STAFF, is_active=True).first()
        if target is None or target.department_id != task.department_id:
            message = "只能转办给本部门在岗的工作人员"
            raise ValidationFailed(message, details={"to_user": [message]})
        if candidates.cannot_decide([target.pk]):
            message = (
                f"{target.real_name or target.username} 没有"
                f"{candidates.missing_permissions_text()}权限，转办后无法办理，请另选人员"
            )
            raise ValidationFailed(message, details={"to_user": [message]})
        _apply(case, core.Transfer(task.key, actor.pk, target.pk), actor)
        task.refresh_from_db()
        task.opinion = reason
        task.save(update_fields=["opinion"])
        name = target.real_name or target.username
        _record(case, actor, "review_transfer", task, f"转办给 {name}：{reason}")
        return task


def withdraw(actor: Any, task_id: int) -> WorkflowTask:
    """撤回 one's own approval while the next step has not acted."""
    with transaction.atomic():
        case, task = _lock_task(actor, task_id)
        _apply(case, core.Withdraw(task.key, actor.pk), actor)
        task.refresh_from_db()
        _record(case, actor, "review_withdraw", task, "")
        return task


def resume(actor: Any, application: Application, **move: Any) -> Application:
    """The enterprise resubmitted after a review 补正 on a *locked* application: back to review
    at the node that asked, with the working days that were left when the clock stopped."""
    instance = WorkflowInstance.objects.select_for_update().get(application=application)
    now = timezone.now()
    due = calendar.deadline(now, instance.remaining_days or 0)
    changes = {**move.pop("changes", {}), "due_at": due.due_at if due.days else now}
    transitions.move(application, S.IN_REVIEW, actor=actor, changes=changes, **move)
    provisional.remember("due_at", [(application, due)])
    spec = specs.parse(instance.workflow.spec)
    instance.paused_at, instance.remaining_days = None, None
    _apply(_Case(application, instance, spec, now), core.Resubmit(), actor)
    return application


def reopen(actor: Any, application: Application, reason: str, *, action: str) -> Application:
    """Send an approved case on a *locked* application back to review at its last level (an
    objection upheld during publicity): the approvers of that level decide again, with a fresh
    clock of the rule's review days. The caller releases what the approval had committed."""
    instance = WorkflowInstance.objects.select_for_update().get(application=application)
    now = timezone.now()
    due = calendar.deadline(now, application.rule_version.review_days)
    transitions.move(
        application,
        S.IN_REVIEW,
        actor=actor,
        action=action,
        note=reason,
        changes={"due_at": due.due_at, "decided_at": None, "approved_amount": None},
    )
    provisional.remember("due_at", [(application, due)])
    instance.finished_at = None
    spec = specs.parse(instance.workflow.spec)
    _apply(_Case(application, instance, spec, now), core.Reopen(), actor)
    return application


def cancel(actor: Any, application: Application, reason: str) -> None:
    """The enterprise withdrew a *locked* application under review: every open task is
    cancelled (it leaves the to-do lists) and the workflow ends as withdrawn. The caller moves
    the application."""
    instance = WorkflowInstance.objects.select_for_update().get(application=application)
    spec = specs.parse(instance.workflow.spec)
    _apply(_Case(application, instance, spec, timezone.now()), core.Cancel(reason), actor)


def in_review_supplement(application: Application) -> bool:
    """Whether the application's 补正 was asked by a reviewer (not by the window)."""
    return WorkflowInstance.objects.filter(
        application=application, status=InstanceStatus.SUPPLEMENT
    ).exists()


# --------------------------------------------------------------------------- internals
def _lock_task(actor: Any, task_id: int) -> tuple[_Case, WorkflowTask]:
    application_id = (
        WorkflowTask.objects.filter(pk=task_id).values_list("application_id", flat=True).first()
    )
    if application_id is None:
        raise NotFound("审批任务不存在")
    application = transitions.lock(application_id)
    task = WorkflowTask.objects.select_related("instance__workflow").get(pk=task_id)
    instance = WorkflowInstance.objects.select_for_update().get(pk=task.instance_id)
    if task.assignee_id != actor.pk:
        raise PermissionDenied("您不是该任务的办理人，不能处理")
    spec = specs.parse(task.instance.workflow.spec)
    return _Case(application, instance, spec, timezone.now()), task


def _event(action: str, task: WorkflowTask, actor: Any, opinion: str) -> core.Event:
    if action == "approve":
        return core.Approve(task.key, actor.pk)
    if action == "reject":
        return core.Reject(task.key, actor.pk, opinion)
    to = "previous_level" if action == "return_previous" else "supplement"
    return core.Return(task.key, actor.pk, to, opinion)  # type: ignore[arg-type]


def _checked_opinion(text: str, label: str = "审批意见") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"请填写{label}", details={"opinion": [f"请填写{label}"]})
    if len(text) > MAX_OPINION:
        message = f"{label}不能超过 {MAX_OPINION} 个字"
        raise ValidationFailed(message, details={"opinion": [message]})
    return text


def current_amount(application: Application) -> Decimal | None:
    """The amount as it stands: the latest amount an approver set, else the requested one."""
    latest = (
        WorkflowTask.objects.filter(
            application=application, status="approved", approved_amount__isnull=False
        )
        .order_by("-decided_at", "-id")
        .values_list("approved_amount", flat=True)
        .first()
    )
    return latest if latest is not None else application.requested_amount


def _checked_amount(case: _Case, decision: Decision) -> tuple[Decimal | None, str]:
    """An approver may lower the amount (with a reason), never raise it."""
    raw = decision.approved_amount
    if decision.action != "approve" or raw in (None, ""):
        return None, ""
    try:
        amount = parse_yuan(raw, "核定金额")
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={"approved_amount": [str(exc)]}) from exc
    if amount < 0:
        message = "核定金额不能为负数"
        raise ValidationFailed(message, details={"approved_amount": [message]})
    ceiling = current_amount(case.application)
    if ceiling is not None and amount > ceiling:
        message = f"核定金额不能高于当前金额 {ceiling:,.2f} 元"
        raise ValidationFailed(message, details={"approved_amount": [message]})
    reason = (decision.amount_reason or "").strip()
    if ceiling is not None and amount < ceiling and not reason:
        message = "核减金额时必须填写核减理由"
        raise ValidationFailed(message, details={"amount_reason": [message]})
    if len(reason) > 300:
        message = "核减理由不能超过 300 个字"
        raise ValidationFailed(message, details={"amount_reason": [message]})
    return (amount, reason) if ceiling is None or amount != ceiling else (None, "")


def _supplement_items(case: _Case, task: WorkflowTask, decision: Decision) -> list[dict]:
    """The items the enterprise must fix when this decision sends the case back to it."""
    to_enterprise = decision.action == "return_supplement" or (
        decision.action == "reject" and case.spec.node(task.node_key).on_reject == "supplement"
    )
    if not to_enterprise:
        return []
    return validated_supplement_items(case.application, list(decision.supplement_items))


def _apply(
    case: _Case,
    event: core.Event,
    actor: Any,
    *,
    supplement_items: list[dict] | None = None,
    before_case_moves: Callable[[], None] | None = None,
) -> core.Result:
    before = case.state
    try:
        result = core.step(case.definition, before, event)
    except core.NotAssignee as exc:
        raise PermissionDenied(exc.message) from exc
    except _CONFLICTS as exc:
        raise Conflict(exc.message) from exc
    except core.InvalidEvent as exc:
        raise ValidationFailed(exc.message, details={"action": [exc.message]}) from exc
    opened = _write_tasks(case, before, result)
    _write_instance(case, result.state)
    if before_case_moves is not None:
        before_case_moves()
    for effect in result.effects:
        if isinstance(effect, core.CaseFinished) and effect.status != "withdrawn":
            _finish(case, effect.status, actor)  # a withdrawn case is moved by the caller
        elif isinstance(effect, core.SupplementRequested):
            _pause(case, actor, effect.reason, supplement_items or [])
    _notify_assigned(case, opened)
    return result


def _write_tasks(case: _Case, before: core.State, result: core.Result) -> list[WorkflowTask]:
    old = {task.id: task for task in before.tasks}
    after = result.state
    for task in after.tasks:
        if task.id in old and old[task.id] != task:
            WorkflowTask.objects.filter(instance=case.instance, key=task.id).update(
                status=task.status, reason=task.reason[:300], decided_at=case.now
            )
    new = [task for task in after.tasks if task.id not in old]
    if not new:
        return []
    users = User.objects.in_bulk([task.assignee for task in new])
    dues = {task.id: task_deadline(case.spec.node(task.node), case.now) for task in new}
    rows = [
        WorkflowTask(
            instance=case.instance,
            application=case.application,
            key=task.id,
            node_key=task.node,
            node_name=case.spec.node(task.node).name,
            level=task.level,
            round=task.round,
            mode=case.spec.node(task.node).mode,
            assignee=users[task.assignee],
            department_id=users[task.assignee].department_id,
            opened_at=case.now,
            due_at=dues[task.id].due_at,
        )
        for task in new
    ]
    created = WorkflowTask.objects.bulk_create(rows)
    provisional.remember("due_at", [(row, dues[row.key]) for row in created])
    return created


def task_deadline(node: specs.NodeSpec, now: dt.datetime) -> calendar.Deadline:
    """The node's limit from ``now``: working days by the holiday table, or plain hours (never
    provisional)."""
    if node.limit_unit == "hours":
        return calendar.Deadline(now, 0, now + dt.timedelta(hours=node.limit_value), False)
    return calendar.deadline(now, node.limit_value)


def _write_instance(case: _Case, state: core.State) -> None:
    instance = case.instance
    instance.state = state_to_json(state)
    instance.status = _INSTANCE_STATUS.get(state.status, InstanceStatus.RUNNING)
    instance.current_level = state.level
    instance.version += 1
    if state.status in ("approved", "rejected", "withdrawn"):
        instance.finished_at = case.now
    instance.save()


def _finish(case: _Case, status: str, actor: Any) -> None:
    approved = status == "approved"
    changes: dict[str, Any] = {"decided_at": case.now}
    if approved:
        changes["approved_amount"] = current_amount(case.application)
        budgets.commit(actor, case.application, changes["approved_amount"])
    # The amounts and each lowering's reason go on the timeline line: the enterprise's message
    # and the 审核结果告知书 state them (applications.notices, space.documents).
    data = (
        {
            "requested_amount": _text(case.application.requested_amount),
            "approved_amount": _text(changes["approved_amount"]),
            "reductions": amount_reductions(case.application),
        }
        if approved
        else None
    )
    transitions.move(
        case.application,
        S.APPROVED if approved else S.REJECTED,
        actor=actor,
        action="review_approved" if approved else "review_rejected",
        data=data,
        changes=changes,
    )


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def amount_reductions(application: Application) -> list[dict[str, str]]:
    """Every lowering of the amount by an approver, in the order decided: node, amount, reason."""
    rows = (
        WorkflowTask.objects.filter(
            application=application, status="approved", approved_amount__isnull=False
        )
        .exclude(amount_reason="")
        .order_by("decided_at", "id")
        .values_list("node_name", "approved_amount", "amount_reason")
    )
    return [
        {"node": node, "amount": f"{amount:.2f}", "reason": reason} for node, amount, reason in rows
    ]


def _pause(case: _Case, actor: Any, reason: str, items: list[dict]) -> None:
    """补正 asked in review: the clock stops with the working days left; one notice as at intake."""
    application = case.application
    left = calendar.working_days_between(case.now, application.due_at) if application.due_at else 0
    case.instance.paused_at, case.instance.remaining_days = case.now, max(left, 1)
    case.instance.save(update_fields=["paused_at", "remaining_days"])
    notice = issue_notice(application, items, reason, actor=actor, now=case.now)
    transitions.move(
        application,
        S.SUPPLEMENT_REQUIRED,
        actor=actor,
        action="review_supplement",
        note=reason,
        data=notice_data(notice),
    )


def _notify_assigned(case: _Case, tasks: list[WorkflowTask]) -> None:
    application = case.application
    for task in tasks:
        notify(
            [task.assignee],
            kind="task_assigned",
            subject=f"新的审批待办：{application.number} {task.node_name}",
            body=f"“{application.rule_version.title}”，办理期限 {timezone.localtime(task.due_at):%Y-%m-%d %H:%M}",
            link=reverse("workflow:case", args=[application.pk]),
            dedupe_key=f"task:{task.pk}:assigned",
        )


def _record(
    case: _Case,
    actor: Any,
    action: str,
    task: WorkflowTask,
    note: str,
    amount: Decimal | None = None,
) -> None:
    data: dict[str, Any] = {"task": task.pk, "node": task.node_name}
    if amount is not None:
        data["approved_amount"] = str(amount)
    transitions.record_event(case.application, actor=actor, action=action, note=note, data=data)
    audit.record(
        f"application.{action}",
        actor=actor,
        target=case.application,
        after={"node": task.node_name, "task": task.pk, "status": task.status, "note": note},
    )
