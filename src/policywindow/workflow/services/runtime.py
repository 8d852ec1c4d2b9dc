"""Running a case through its workflow: start, decide, transfer, withdraw, resume after 补正.

Every operation locks the application row, then the instance row (always in that order, as
intake and filing do; a step on a task locks both with the task in one statement, ``locking``),
feeds one event to the pure engine and writes what it says: task rows, the instance's state,
the application's status, a timeline line, an audit event and, through the notification
outbox, a message — all in one transaction. Two decisions on the same case therefore run one
after the other; a task already decided gives a clear ``Conflict``. A decision writes each
table once where it can and one audit event for all it did (``_Case.gathered``); the budget row
that every approval of a rule shares is its last write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
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
from policywindow.applications.services.transactions import write_transaction
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
from policywindow.notifications.services import Message, notify_each
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
from . import locking

# What a decision writes on its task besides what the engine changes.
DECISION_FIELDS = ("opinion", "approved_amount", "amount_reason")
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
    # A decision writes one audit event: what it caused (the case's move, the budget taken) is
    # gathered here for it. Other steps (start, resume, reopen …) log each move as it happens.
    gathered: dict[str, Any] | None = None

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
    """Approve, reject or return one task; see ``Decision``. ``files`` are attached to it.

    Returns the task as decided, with its case loaded and what the API shows of it
    (``locking``): the answer reads nothing more. One audit event records the decision and whatever it caused.
    """
    if decision.action not in ACTIONS:
        raise ValidationFailed("请选择审批结论", details={"action": ["请选择审批结论"]})
    opinion = _checked_opinion(decision.opinion)
    kinds = _checked_files(files := list(files))
    with write_transaction():
        case, task = _lock_task(actor, task_id)
        case.gathered = {}
        amount, amount_reason = _checked_amount(case, decision)
        items = _supplement_items(case, task, decision)
        action = f"review_{decision.action}"
        task.opinion, task.approved_amount, task.amount_reason = opinion, amount, amount_reason

        def record_decision() -> None:
            # Before the case moves: the timeline reads decision, then outcome.
            for upload, kind in zip(files, kinds, strict=True):
                _attach(task, upload, kind)
            _timeline(case, actor, action, task, opinion, amount=amount)

        _apply(
            case,
            _event(decision.action, task, actor, opinion),
            actor,
            acting=task,
            written=DECISION_FIELDS,
            supplement_items=items,
            before_case_moves=record_decision,
        )
        _audit(case, actor, action, task, opinion, amount=amount)
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
    with write_transaction():
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
        task.opinion = reason
        _apply(
            case,
            core.Transfer(task.key, actor.pk, target.pk),
            actor,
            acting=task,
            written=("opinion",),
        )
        name = target.real_name or target.username
        _record(case, actor, "review_transfer", task, f"转办给 {name}：{reason}")
        return task


def withdraw(actor: Any, task_id: int) -> WorkflowTask:
    """撤回 one's own approval while the next step has not acted."""
    with write_transaction():
        case, task = _lock_task(actor, task_id)
        _apply(case, core.Withdraw(task.key, actor.pk), actor, acting=task)
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
    """The task with its instance and case, locked by one statement (``locking``)."""
    task = locking.locked_task(task_id)
    if task is None:
        raise NotFound("审批任务不存在")
    if task.assignee_id != actor.pk:
        raise PermissionDenied("您不是该任务的办理人，不能处理")
    spec = specs.parse(task.instance.workflow.spec)
    return _Case(task.application, task.instance, spec, timezone.now()), task


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
    acting: WorkflowTask | None = None,
    written: Iterable[str] = (),
    supplement_items: list[dict] | None = None,
    before_case_moves: Callable[[], None] | None = None,
) -> core.Result:
    """Feed ``event`` to the engine and write what it says. ``acting`` is the task the event is
    about: its new status and its ``written`` fields go in one statement (``_write_tasks``)."""
    before = case.state
    try:
        result = core.step(case.definition, before, event)
    except core.NotAssignee as exc:
        raise PermissionDenied(exc.message) from exc
    except _CONFLICTS as exc:
        raise Conflict(exc.message) from exc
    except core.InvalidEvent as exc:
        raise ValidationFailed(exc.message, details={"action": [exc.message]}) from exc
    opened = _opened_rows(case, before, result.state)
    rows = [row for row, _ in opened]
    _write_tasks(case, before, result.state, rows, acting, tuple(written))
    provisional.remember("due_at", opened)
    _write_instance(case, result.state)
    if before_case_moves is not None:
        before_case_moves()
    for effect in result.effects:
        if isinstance(effect, core.CaseFinished) and effect.status != "withdrawn":
            _finish(case, effect.status, actor)  # a withdrawn case is moved by the caller
        elif isinstance(effect, core.SupplementRequested):
            _pause(case, actor, effect.reason, supplement_items or [])
    _notify_assigned(case, rows)
    return result


def _opened_rows(
    case: _Case, before: core.State, after: core.State
) -> list[tuple[WorkflowTask, calendar.Deadline]]:
    """Rows (not saved yet) of the tasks the step opens, with their deadlines."""
    old = {task.id for task in before.tasks}
    new = [task for task in after.tasks if task.id not in old]
    if not new:
        return []
    # What the rows and their messages need of each assignee (one read, nothing decrypted).
    users = User.objects.only("department_id", "email", "is_active").in_bulk(
        [task.assignee for task in new]
    )
    rows = []
    for task in new:
        node = case.spec.node(task.node)
        due = task_deadline(node, case.now)
        row = WorkflowTask(
            instance=case.instance,
            application=case.application,
            key=task.id,
            node_key=task.node,
            node_name=node.name,
            level=task.level,
            round=task.round,
            mode=node.mode,
            assignee=users[task.assignee],
            department_id=users[task.assignee].department_id,
            opened_at=case.now,
            due_at=due.due_at,
        )
        rows.append((row, due))
    return rows


def _write_tasks(
    case: _Case,
    before: core.State,
    after: core.State,
    opened: list[WorkflowTask],
    acting: WorkflowTask | None,
    written: tuple[str, ...],
) -> None:
    """The task rows of a step in as few statements as the ORM allows: the acting task (its new
    status and ``written`` fields) and the opened tasks in one INSERT … ON CONFLICT (instance,
    key) DO UPDATE; the other tasks that changed (或签 peers cancelled …) in one UPDATE per
    (status, reason)."""
    old = {task.id: task for task in before.tasks}
    others: dict[tuple[str, str], list[str]] = defaultdict(list)
    for task in after.tasks:
        if task.id not in old or old[task.id] == task:
            continue
        if acting is not None and task.id == acting.key:
            acting.status, acting.reason, acting.decided_at = (
                task.status,
                task.reason[:300],
                case.now,
            )
            written += ("status", "reason", "decided_at")
        else:
            others[(task.status, task.reason[:300])].append(task.id)
    for (status, reason), keys in others.items():
        WorkflowTask.objects.filter(instance=case.instance, key__in=keys).update(
            status=status, reason=reason, decided_at=case.now
        )
    if acting is not None and written and not opened:
        fields = {name: getattr(acting, name) for name in written}
        WorkflowTask.objects.filter(pk=acting.pk).update(**fields)
    elif acting is not None and written:
        WorkflowTask.objects.bulk_create(
            [_as_new_row(acting), *opened],
            update_conflicts=True,
            unique_fields=["instance", "key"],
            update_fields=list(written),
        )
    elif opened:
        WorkflowTask.objects.bulk_create(opened)


def _as_new_row(task: WorkflowTask) -> WorkflowTask:
    """The task as a row without its id, so that one INSERT holds it with rows that have none
    (the ORM inserts rows with and without ids in separate statements); its (instance, key)
    finds the existing row."""
    fields = WorkflowTask._meta.concrete_fields
    return WorkflowTask(
        **{f.attname: getattr(task, f.attname) for f in fields if not f.primary_key}
    )


def task_deadline(node: specs.NodeSpec, now: dt.datetime) -> calendar.Deadline:
    """The node's limit from ``now``: working days by the holiday table, or plain hours (never
    provisional)."""
    if node.limit_unit == "hours":
        return calendar.Deadline(now, 0, now + dt.timedelta(hours=node.limit_value), False)
    return calendar.deadline(now, node.limit_value)


# Everything a step may change; the definition, notes and start are written once, at start.
_INSTANCE_FIELDS = [
    "state",
    "status",
    "current_level",
    "version",
    "finished_at",
    "paused_at",
    "remaining_days",
]


def _write_instance(case: _Case, state: core.State) -> None:
    instance = case.instance
    instance.state = state_to_json(state)
    instance.status = _INSTANCE_STATUS.get(state.status, InstanceStatus.RUNNING)
    instance.current_level = state.level
    instance.version += 1
    if state.status in ("approved", "rejected", "withdrawn"):
        instance.finished_at = case.now
    instance.save(update_fields=_INSTANCE_FIELDS)


def _finish(case: _Case, status: str, actor: Any) -> None:
    approved = status == "approved"
    changes: dict[str, Any] = {"decided_at": case.now}
    data = None
    if approved:
        changes["approved_amount"], reductions = _amounts(case.application)
        # The amounts and each lowering's reason go on the timeline line: the enterprise's
        # message and the 审核结果告知书 state them (applications.notices, space.documents).
        data = {
            "requested_amount": _text(case.application.requested_amount),
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
    if approved:  # last: the budget row is shared by every approval of the rule and year
        audited = case.gathered is None
        taken = budgets.commit(actor, case.application, changes["approved_amount"], audited=audited)
        if taken is not None and not audited:
            case.gathered["budget"] = taken


def _move(case: _Case, actor: Any, to_status: str, *, action: str, **move: Any) -> None:
    """Move the case; a decision's one audit event records the move it caused."""
    from_status = case.application.status
    gathered = case.gathered
    transitions.move(
        case.application, to_status, actor=actor, action=action, audited=gathered is None, **move
    )
    if gathered is not None:
        gathered["case"] = {"from": from_status, "to": to_status, "step": action}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _amounts(application: Application) -> tuple[Decimal | None, list[dict[str, str]]]:
    """The amount as it stands (``current_amount``) and every lowering of it by an approver in
    the order decided (node, amount, reason), from one read."""
    rows = list(
        WorkflowTask.objects.filter(
            application=application, status="approved", approved_amount__isnull=False
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


def _pause(case: _Case, actor: Any, reason: str, items: list[dict]) -> None:
    """补正 asked in review: the clock stops with the working days left; one notice as at intake."""
    application = case.application
    left = calendar.working_days_between(case.now, application.due_at) if application.due_at else 0
    case.instance.paused_at, case.instance.remaining_days = case.now, max(left, 1)
    case.instance.save(update_fields=["paused_at", "remaining_days"])
    notice = issue_notice(application, items, reason, actor=actor, now=case.now)
    _move(
        case,
        actor,
        S.SUPPLEMENT_REQUIRED,
        action="review_supplement",
        note=reason,
        data=notice_data(notice),
    )


def _notify_assigned(case: _Case, tasks: list[WorkflowTask]) -> None:
    application = case.application
    link = reverse("workflow:case", args=[application.pk])
    notify_each(
        Message(
            task.assignee,
            "task_assigned",
            f"新的审批待办：{application.number} {task.node_name}",
            f"task:{task.pk}:assigned",
            body=f"“{application.rule_version.title}”，办理期限 "
            f"{timezone.localtime(task.due_at):%Y-%m-%d %H:%M}",
            link=link,
        )
        for task in tasks
    )


def _timeline(
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


def _audit(
    case: _Case,
    actor: Any,
    action: str,
    task: WorkflowTask,
    note: str,
    amount: Decimal | None = None,
) -> None:
    after: dict[str, Any] = {"node": task.node_name, "task": task.pk, "status": task.status}
    after["note"] = note
    if amount is not None:
        after["approved_amount"] = str(amount)
    gathered = case.gathered or {}
    moved = gathered.get("case")
    audit.record(
        f"application.{action}",
        actor=actor,
        target=case.application,
        before={"status": moved["from"]} if moved else None,
        after={**after, **gathered},
    )


def _record(case: _Case, actor: Any, action: str, task: WorkflowTask, note: str) -> None:
    _timeline(case, actor, action, task, note)
    _audit(case, actor, action, task, note)
