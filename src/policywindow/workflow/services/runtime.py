"""Running a case through its workflow: start, decide, transfer, withdraw, resume after 补正.

A case is a subject (``subjects``): an application, a reform-task progress report … The runtime
knows it only as its subject type and id and asks the type's ``Subject`` for the rest. Every
operation locks the subject's row, then the instance row (always in that order, as intake and
filing do; a step on a task locks them with the task in one statement where the subject has a
fast path, ``locking``), feeds one event to the pure engine and writes what it says: task rows,
the instance's state, and through the subject its own status, a history line, an audit event
and, through the notification outbox, a message — all in one transaction. Two decisions on the
same case therefore run one after the other; a task already decided gives a clear ``Conflict``.
A decision writes each table once where it can and one audit event for all it did
(``Case.gathered``).
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
from django.utils import timezone

from policywindow.core import audit, calendar, clock, provisional
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.files import (
    DEFAULT_TYPES,
    FILE_TYPES,
    check_file,
    clean_original_name,
    random_name,
    sha256_of,
)
from policywindow.core.transactions import write_transaction
from policywindow.notifications.services import Message, notify_each
from policywindow.system.models import User

from .. import candidates, subjects
from .. import engine as core
from .. import spec as specs
from ..definition import DefinitionError
from ..models import (
    InstanceStatus,
    TaskAttachment,
    TaskStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowTask,
)
from ..serialize import definition_from_json, definition_to_json, state_from_json, state_to_json
from ..subjects import APPLICATION, Subject
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
# History (and operation-log) wording of each workflow step, for every subject.
STEP_LABELS = {
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
# The engine's case statuses are the instance's (``InstanceStatus``); these end a case.
_FINISHED = (InstanceStatus.APPROVED, InstanceStatus.REJECTED, InstanceStatus.WITHDRAWN)
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
class Case:
    """The locked rows of one case — its subject's row and its instance — and the spec its
    workflow version was drawn with. Subjects' hooks receive it."""

    subject: Subject
    row: Any
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

    @property
    def links(self) -> dict[str, Any]:
        """The columns that tie a new task row to this case (``models.APPLICATION_LINK``)."""
        subject_id = self.row.pk
        application_id = subject_id if self.subject.type == APPLICATION else None
        return {
            "subject_type": self.subject.type,
            "subject_id": subject_id,
            "application_id": application_id,
        }


# --------------------------------------------------------------------------- start
def published_workflow(subject_type: str, rule_id: int | None = None) -> WorkflowDefinition | None:
    """The workflow cases start with: the rule's, or the subject type's own (no rule)."""
    return WorkflowDefinition.objects.filter(
        subject_type=subject_type,
        rule_id=rule_id,
        status=WorkflowDefinition.Status.PUBLISHED,
    ).first()


def start(actor: Any, subject_type: str, row: Any) -> WorkflowInstance:
    """Start the published workflow of a *locked* subject row that has just come up for review
    (the rule's for an application, the subject type's own otherwise).

    Refused (``Conflict``, nothing written by the caller's transaction) when there is no
    published workflow or a node that applies to this case has nobody to act.
    """
    subject = subjects.get(subject_type)
    workflow = published_workflow(subject_type, subject.workflow_owner(row))
    if workflow is None:
        raise Conflict(subject.no_workflow(row))
    spec = specs.parse(workflow.spec)
    try:
        prepared = specs.build_definition(spec, subject.context(row), subject.facts(row))
    except DefinitionError as exc:
        raise Conflict(f"无法启动审批流程：{exc.message}") from exc
    now = timezone.now()
    initial = core.initial_state(prepared.definition)
    instance = WorkflowInstance.objects.create(
        subject_type=subject_type,
        subject_id=row.pk,
        application_id=row.pk if subject_type == APPLICATION else None,
        workflow=workflow,
        definition=definition_to_json(prepared.definition),
        notes=prepared.notes,
        state=state_to_json(initial),
        started_at=now,
    )
    case = Case(subject, row, instance, spec, now)
    _apply(case, core.Start(), actor)
    subject.record(
        case,
        actor,
        "review_start",
        "",
        {"workflow": workflow.pk, "version": workflow.version},
    )
    return instance


# --------------------------------------------------------------------------- decisions
def decide(
    actor: Any, task_id: int, decision: Decision, files: Iterable[UploadedFile] = ()
) -> WorkflowTask:
    """Approve, reject or return one task; see ``Decision``. ``files`` are attached to it.

    Returns the task as decided, with its case loaded and what the API shows of it
    (``locking``): the answer reads nothing more. One audit event records the decision and
    whatever it caused.
    """
    files = list(files)
    with write_transaction():
        # State before content: a task decided already (or another's) answers so whatever the
        # body; the checks below read nothing, so a decision's statements are the same.
        case, task = _lock_open_task(actor, task_id)
        if decision.action not in ACTIONS:
            raise ValidationFailed("请选择审批结论", details={"action": ["请选择审批结论"]})
        opinion = _checked_opinion(decision.opinion)
        kinds = _checked_files(files)
        case.gathered = {}
        amount, amount_reason = case.subject.check_amount(case, decision)
        items = _supplement_items(case, task, decision)
        action = f"review_{decision.action}"
        task.opinion, task.approved_amount, task.amount_reason = opinion, amount, amount_reason

        def record_decision() -> None:
            # Before the case moves: the history reads decision, then outcome.
            for upload, kind in zip(files, kinds, strict=True):
                _attach(task, upload, kind)
            _history(case, actor, action, task, opinion, amount=amount)

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
    with write_transaction():
        case, task = _lock_open_task(actor, task_id)
        reason = _checked_opinion(reason, label="转办说明")
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


def resume(actor: Any, subject_type: str, row: Any, **move: Any) -> Any:
    """Whoever filed a *locked* case resubmitted after a review 补正: back to review at the
    node that asked, with the working days that were left when the clock stopped. The
    subject's ``resumed`` moves the case itself (``move`` is passed on)."""
    case = _locked_case(subject_type, row)
    due = clock.resume(case.now, case.instance.remaining_days or 0)
    case.subject.resumed(case, actor, due, **move)
    case.instance.paused_at, case.instance.remaining_days = None, None
    _apply(case, core.Resubmit(), actor)
    return row


def reopen(actor: Any, subject_type: str, row: Any, reason: str, *, action: str) -> Any:
    """Send a finished case (a *locked* row) back to review at its last level (an objection
    upheld during publicity): the approvers of that level decide again, with a fresh clock of
    the subject's review days. The subject's ``reopened`` moves the case; the caller releases
    what the approval had committed."""
    case = _locked_case(subject_type, row)
    due = clock.start(case.now, case.subject.review_days(row))
    case.subject.reopened(case, actor, due, reason, action=action)
    case.instance.finished_at = None
    _apply(case, core.Reopen(), actor)
    return row


def cancel(actor: Any, subject_type: str, row: Any, reason: str) -> None:
    """The case (a *locked* row) was withdrawn by whoever filed it: every open task is
    cancelled (it leaves the to-do lists) and the workflow ends as withdrawn. The caller moves
    the case."""
    _apply(_locked_case(subject_type, row), core.Cancel(reason), actor)


def in_review_supplement(subject_type: str, subject_id: int) -> bool:
    """Whether the case's 补正 was asked by a reviewer (not by the window)."""
    return WorkflowInstance.objects.filter(
        subject_type=subject_type, subject_id=subject_id, status=InstanceStatus.SUPPLEMENT
    ).exists()


# --------------------------------------------------------------------------- internals
def _locked_case(subject_type: str, row: Any) -> Case:
    """The case of a subject row its caller has locked: its instance locked after it."""
    instance = (
        WorkflowInstance.objects.select_for_update(of=("self",))
        .select_related("workflow")
        .get(subject_type=subject_type, subject_id=row.pk)
    )
    spec = specs.parse(instance.workflow.spec)
    return Case(subjects.get(subject_type), row, instance, spec, timezone.now())


def _lock_task(actor: Any, task_id: int) -> tuple[Case, WorkflowTask]:
    """The task with its instance and case, locked (``locking``)."""
    task = locking.locked_task(task_id)
    if task is None:
        raise NotFound("审批任务不存在")
    if task.assignee_id != actor.pk:
        raise PermissionDenied("您不是该任务的办理人，不能处理")
    spec = specs.parse(task.instance.workflow.spec)
    subject = subjects.get(task.subject_type)
    return Case(subject, task.subject, task.instance, spec, timezone.now()), task


def _lock_open_task(actor: Any, task_id: int) -> tuple[Case, WorkflowTask]:
    """``_lock_task`` for a step only an open task allows (decide, transfer): one no longer open
    is the engine's ``Conflict`` before the input is checked (withdraw acts on a decided task)."""
    case, task = _lock_task(actor, task_id)
    if task.status != TaskStatus.OPEN:
        raise Conflict(core.NOT_OPEN_MESSAGES[task.status])
    return case, task


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


def _supplement_items(
    case: Case, task: WorkflowTask, decision: Decision
) -> tuple[dict[str, str], ...]:
    """The items to fix when this decision sends the case back to whoever filed it."""
    back = decision.action == "return_supplement" or (
        decision.action == "reject" and case.spec.node(task.node_key).on_reject == "supplement"
    )
    return case.subject.check_supplement(case, decision.supplement_items) if back else ()


def _apply(
    case: Case,
    event: core.Event,
    actor: Any,
    *,
    acting: WorkflowTask | None = None,
    written: Iterable[str] = (),
    supplement_items: tuple[dict[str, str], ...] = (),
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
        if isinstance(effect, core.CaseFinished) and effect.status != InstanceStatus.WITHDRAWN:
            case.subject.finished(case, effect.status, actor)  # the caller moves a withdrawn one
        elif isinstance(effect, core.SupplementRequested):
            _pause(case, actor, effect.reason, supplement_items)
    _notify_assigned(case, rows)
    return result


def _opened_rows(
    case: Case, before: core.State, after: core.State
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
            **case.links,
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
    case: Case,
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
    """The node's limit from ``now``: working days by the holiday table, or plain hours."""
    if node.limit_unit == "hours":
        return clock.in_hours(now, node.limit_value)
    return clock.start(now, node.limit_value)


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


def _write_instance(case: Case, state: core.State) -> None:
    instance = case.instance
    instance.state = state_to_json(state)
    instance.status = InstanceStatus(state.status)
    instance.current_level = state.level
    instance.version += 1
    if instance.status in _FINISHED:
        instance.finished_at = case.now
    instance.save(update_fields=_INSTANCE_FIELDS)


def _pause(case: Case, actor: Any, reason: str, items: tuple[dict[str, str], ...]) -> None:
    """补正 asked in review: the clock stops with the working days left; the subject tells
    whoever filed the case what to fix."""
    left = clock.pause(case.now, case.subject.due_at(case.row))
    case.instance.paused_at, case.instance.remaining_days = case.now, left
    case.instance.save(update_fields=["paused_at", "remaining_days"])
    case.subject.supplement_requested(case, actor, reason, items)


def _notify_assigned(case: Case, tasks: list[WorkflowTask]) -> None:
    if not tasks:
        return
    label = case.subject.label_of(case.row)
    notify_each(
        Message(
            task.assignee,
            "task_assigned",
            f"新的审批待办：{label.number} {task.node_name}",
            f"task:{task.pk}:assigned",
            body=f"“{label.title}”，办理期限 {timezone.localtime(task.due_at):%Y-%m-%d %H:%M}",
            link=label.link,
        )
        for task in tasks
    )


def _history(
    case: Case,
    actor: Any,
    action: str,
    task: WorkflowTask,
    note: str,
    amount: Decimal | None = None,
) -> None:
    data: dict[str, Any] = {"task": task.pk, "node": task.node_name}
    if amount is not None:
        data["approved_amount"] = str(amount)
    case.subject.record(case, actor, action, note, data)


def _audit(
    case: Case,
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
        f"{case.subject.type}.{action}",
        actor=actor,
        target=case.subject.audit_target(case.row),
        before={"status": moved["from"]} if moved else None,
        after={**after, **gathered},
    )


def _record(case: Case, actor: Any, action: str, task: WorkflowTask, note: str) -> None:
    _history(case, actor, action, task, note)
    _audit(case, actor, action, task, note)
