"""Reads of 审批管理: to-do, done and department lists, a case's workflow progress, approvers,
time-limit stats.

Who sees what is decided here, never in views. A task list shows the user's own tasks (to-do,
done) or the open tasks of the departments the user's data scope reaches (queue). Which case a
user may read, and the per-case time-limit figures, are the subject's own (for applications
``applications.selectors_review``); the period and rows of those figures are shared from here.

Lists page over the indexed task columns — (assignee, status, due_at), (assignee, status,
decided_at), (department, status, due_at) — with the case, enterprise and rule joined in the
same query, so a page costs the same few queries however many rows exist.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from policywindow.core import deadlines
from policywindow.core.deadlines import DeadlineMark
from policywindow.core.figures import Figure
from policywindow.system.datascope import scope_q
from policywindow.system.models import Department, Menu, Status, User

from . import candidates, subjects
from . import spec as specs
from .definition import Definition, Node
from .diagram import render_svg
from .engine import State, node_done
from .models import (
    DONE_STATUSES,
    InstanceStatus,
    TaskStatus,
    WorkflowInstance,
    WorkflowTask,
)
from .serialize import definition_from_json, state_from_json

DECIDED = (TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.RETURNED)
APPROVER_PERMISSION = "approval:task:todo"
RECENT_DAYS = 30
_LIST_RELATED = ("application__enterprise", "application__rule", "application__rule_version")


# --------------------------------------------------------------------------- task lists
@dataclass(frozen=True)
class TaskFilter:
    rule_id: int | None = None
    overdue_only: bool = False
    stuck_only: bool = False


def _filtered(tasks: QuerySet[WorkflowTask], filters: TaskFilter, now: dt.datetime) -> QuerySet:
    if filters.rule_id:
        tasks = tasks.filter(application__rule_id=filters.rule_id)
    if filters.overdue_only:
        tasks = tasks.filter(due_at__lt=now)
    if filters.stuck_only:
        tasks = tasks.filter(stuck_q())
    return tasks


# --------------------------------------------------------------------------- stuck nodes
def is_stuck(mode: str, assignees: Iterable[int], deciders: set[int]) -> bool:
    """Whether an open node can never be settled by the people it waits for: a 或签 node when
    none of them can decide, a 会签 or 依次 node when one of them cannot (each must act)."""
    people = list(assignees)
    if mode == "any":
        return not any(person in deciders for person in people)
    return any(person not in deciders for person in people)


def stuck_q() -> Q:
    """Open tasks of a stuck node (``is_stuck`` as a filter): an approver was disabled or lost
    the permission to see and decide tasks after the case started."""
    node = {
        "instance": OuterRef("instance"),
        "node_key": OuterRef("node_key"),
        "round": OuterRef("round"),
        "status": TaskStatus.OPEN,
    }
    can = candidates.decider_q("assignee")
    able = WorkflowTask.objects.filter(can, **node)
    unable = WorkflowTask.objects.filter(~can, **node)
    return (Q(mode="any") & ~Q(Exists(able))) | (~Q(mode="any") & Q(Exists(unable)))


def deciders_among(user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` who can see and decide tasks (one query)."""
    people = User.objects.filter(candidates.decider_q(), pk__in=set(user_ids))
    return set(people.values_list("pk", flat=True))


def todo_tasks(
    user: Any, filters: TaskFilter = TaskFilter(), now: dt.datetime | None = None
) -> QuerySet[WorkflowTask]:
    """我的待办: the user's open tasks, soonest due first."""
    tasks = WorkflowTask.objects.filter(assignee=user, status=TaskStatus.OPEN)
    tasks = _filtered(tasks, filters, now or timezone.now())
    return tasks.select_related(*_LIST_RELATED).order_by("due_at", "id")


def done_tasks(user: Any) -> QuerySet[WorkflowTask]:
    """我的已办: tasks the user decided, transferred or withdrew, newest first."""
    tasks = WorkflowTask.objects.filter(assignee=user, status__in=DONE_STATUSES)
    return tasks.select_related(*_LIST_RELATED).order_by("-decided_at", "-id")


# --------------------------------------------------------------------------- the API's lists
# What the API shows of a task's case, as columns of the task's own query: no case, enterprise
# or rule version row is loaded (nor its JSON decoded) for three words.
CASE_COLUMNS = {
    "number": F("application__number"),
    "enterprise_name": F("application__enterprise__name"),
    "rule_title": F("application__rule_version__title"),
}
SHOWN_COLUMNS = (
    "subject_type",
    "subject_id",
    "application_id",
    "node_name",
    "mode",
    "status",
    "opened_at",
    "due_at",
    "decided_at",
    "opinion",
    "approved_amount",
)


@dataclass(frozen=True)
class TaskList:
    """One of the API's task lists, paged by number or from a row (keyset): in both ways the
    page's ids are found on the list's index first, then only those rows are joined to their
    cases, so a deep page costs no joins (nor wide rows) for the rows before it."""

    tasks: QuerySet[WorkflowTask]
    key: str  # the column the list is ordered by, then by id
    descending: bool

    def count(self) -> int:
        return self.tasks.count()

    def page(self, offset: int, size: int) -> list[WorkflowTask]:
        """``size`` rows from ``offset`` in the list's order."""
        return self._shown(self._ordered().values("pk")[offset : offset + size])

    def after(self, moment: dt.datetime, pk: int, size: int) -> list[WorkflowTask]:
        """``size`` rows after the row of (``key`` = ``moment``, id = ``pk``)."""
        later, tie = ("lt", "lt") if self.descending else ("gt", "gt")
        past = Q(**{f"{self.key}__{later}": moment}) | Q(**{self.key: moment, f"pk__{tie}": pk})
        # The bound alone is what lets the index be entered at the row (the OR cannot).
        bound = Q(**{f"{self.key}__{later}e": moment})
        return self._shown(self._ordered().filter(bound, past).values("pk")[:size])

    def _ordered(self) -> QuerySet[WorkflowTask]:
        sign = "-" if self.descending else ""
        return self.tasks.order_by(f"{sign}{self.key}", f"{sign}id")

    def _shown(self, ids: QuerySet) -> list[WorkflowTask]:
        rows = self._ordered().filter(pk__in=ids).only(*SHOWN_COLUMNS)
        tasks = list(rows.annotate(**CASE_COLUMNS))
        # Cases of other subjects have no application row to join: their subjects name them.
        others = [task for task in tasks if task.application_id is None]
        for task, label in zip(others, _labels_of(others), strict=True):
            task.number, task.rule_title, task.enterprise_name = (
                label.number,
                label.title,
                label.party,
            )
        return tasks


def labelled(tasks: Iterable[WorkflowTask]) -> list[WorkflowTask]:
    """The tasks of a list page, each with ``label`` (``subjects.Label``: number, title, party,
    link): an application's from the application the list joined, other subjects' from one
    query per subject type on the page."""
    tasks = list(tasks)
    others = [task for task in tasks if task.application_id is None]
    for task, label in zip(others, _labels_of(others), strict=True):
        task.label = label
    application = subjects.get(subjects.APPLICATION)
    for task in tasks:
        if task.application_id is not None:
            task.label = application.label_of(task.application)
    return tasks


def _labels_of(tasks: list[WorkflowTask]) -> list[subjects.Label]:
    by_type: dict[str, set[int]] = defaultdict(set)
    for task in tasks:
        by_type[task.subject_type].add(task.subject_id)
    found = {
        (subject_type, pk): label
        for subject_type, ids in by_type.items()
        for pk, label in subjects.get(subject_type).labels(ids).items()
    }
    missing = subjects.Label("", "（已删除）", "", "")
    return [found.get((task.subject_type, task.subject_id), missing) for task in tasks]


def todo_list(user: Any) -> TaskList:
    """我的待办 as the API lists it (``todo_tasks``), soonest due first."""
    tasks = WorkflowTask.objects.filter(assignee=user, status=TaskStatus.OPEN)
    return TaskList(tasks, "due_at", descending=False)


def done_list(user: Any) -> TaskList:
    """我的已办 as the API lists it (``done_tasks``), newest first."""
    tasks = WorkflowTask.objects.filter(assignee=user, status__in=DONE_STATUSES)
    return TaskList(tasks, "decided_at", descending=True)


def queue_scope(user: Any) -> Q:
    """Tasks of the user's own department, plus the departments the user's data scope reaches.

    The departments are looked up first, so the task query filters on ``department_id`` alone
    and walks the (department, status, due_at) index.
    """
    reach = scope_q(user, dept_field="pk", owner_field=None)
    if not reach:  # data scope 全部
        return Q()
    ids = set(Department.objects.filter(reach).values_list("pk", flat=True))
    if user.department_id:
        ids.add(user.department_id)
    return Q(department_id__in=sorted(ids))


def queue_tasks(
    user: Any, filters: TaskFilter = TaskFilter(), now: dt.datetime | None = None
) -> QuerySet[WorkflowTask]:
    """部门待办: one row per open node of a case (its first open task in scope), soonest due first.

    A 或签 node opens a task per candidate; the queue shows the node once and lists them
    (``queue_rows``), so the row stands for "this node of this case is waiting".
    """
    scope = queue_scope(user)
    earlier = WorkflowTask.objects.filter(
        scope,
        instance=OuterRef("instance"),
        node_key=OuterRef("node_key"),
        round=OuterRef("round"),
        status=TaskStatus.OPEN,
        pk__lt=OuterRef("pk"),
    )
    tasks = WorkflowTask.objects.filter(scope, status=TaskStatus.OPEN).filter(~Exists(earlier))
    tasks = _filtered(tasks, filters, now or timezone.now())
    return tasks.select_related(*_LIST_RELATED, "department").order_by("due_at", "id")


@dataclass(frozen=True)
class QueueRow:
    task: WorkflowTask  # the node's first open task: case, node, due date
    waiting: list[WorkflowTask]  # every open task of the node in scope (the candidates)
    mark: DeadlineMark | None
    unable: list[WorkflowTask] = field(default_factory=list)  # waiting on who cannot decide
    stuck: bool = False


def queue_rows(page: Iterable[WorkflowTask]) -> list[QueueRow]:
    """The page's nodes with everyone they wait for, from one query for the whole page."""
    heads = labelled(page)
    waiting: dict[tuple[int, str, int], list[WorkflowTask]] = defaultdict(list)
    rows = (
        WorkflowTask.objects.filter(
            status=TaskStatus.OPEN, instance_id__in={task.instance_id for task in heads}
        )
        .select_related("assignee")
        .order_by("id")
    )
    for task in rows:
        waiting[(task.instance_id, task.node_key, task.round)].append(task)
    marks = task_marks(heads)
    able = deciders_among(task.assignee_id for tasks in waiting.values() for task in tasks)
    found = []
    for head in heads:
        tasks = waiting[(head.instance_id, head.node_key, head.round)]
        found.append(
            QueueRow(
                head,
                tasks,
                marks.get(head.pk),
                unable=[task for task in tasks if task.assignee_id not in able],
                stuck=is_stuck(head.mode, (task.assignee_id for task in tasks), able),
            )
        )
    return found


def task_marks(
    tasks: Iterable[WorkflowTask], now: dt.datetime | None = None
) -> dict[int, DeadlineMark]:
    """Red/yellow marks of open tasks (one calendar query for the page).

    An hour-limited task can pass its due time during its last day: it is overdue then, though
    the working-day mark still reads "今日到期".
    """
    now = now or timezone.now()
    open_tasks = [task for task in tasks if task.status == TaskStatus.OPEN]
    found = deadlines.marks({task.pk: task.due_at for task in open_tasks}, now)
    for task in open_tasks:
        mark = found.get(task.pk)
        if task.due_at < now and (mark is None or mark.state != "overdue"):
            found[task.pk] = DeadlineMark("overdue", "已超期")
    return found


def batchable(task: WorkflowTask) -> bool:
    """Only 或签 tasks may be approved in a batch (one approver's word settles the node)."""
    return task.mode == "any"


# --------------------------------------------------------------------------- the case page
def my_task(user: Any, pk: int) -> WorkflowTask:
    """A task of the user's own (any status); another user's task is a 404."""
    tasks = WorkflowTask.objects.select_related("application", "instance")
    return get_object_or_404(tasks, pk=pk, assignee=user)


def my_tasks(user: Any, ids: Iterable[int]) -> dict[int, WorkflowTask]:
    """The user's own tasks among ``ids`` (others' are left out), with their cases."""
    tasks = WorkflowTask.objects.filter(pk__in=list(ids), assignee=user).select_related(
        "application"
    )
    return {task.pk: task for task in tasks}


def node_states(
    definition: Definition, state: State, overdue_nodes: Iterable[str] = ()
) -> dict[str, str]:
    """Each applicable node's progress in its current round, as the diagram colours it.

    done: approved as the engine's ``node_done`` counts it; current: open tasks (overdue
    when one is past due); rejected: rejected or returned in this round; pending otherwise.
    Nodes that do not apply are left out (the diagram draws them dashed).
    """
    rounds = dict(state.node_rounds)
    overdue = set(overdue_nodes)
    found: dict[str, str] = {}
    for level in definition.levels:
        for node in level.applicable:
            tasks = [t for t in state.tasks if t.node == node.key and t.round == rounds[node.key]]
            statuses = {task.status for task in tasks}
            if rounds[node.key] == 0:
                found[node.key] = "pending"
            elif statuses & {"rejected", "returned"}:
                found[node.key] = "rejected"
            elif "open" in statuses:
                found[node.key] = "overdue" if node.key in overdue else "current"
            elif node_done(node, tasks):
                found[node.key] = "done"
            else:
                found[node.key] = "pending"
    return found


@dataclass
class NodeView:
    key: str
    name: str
    mode_label: str
    limit_label: str
    on_reject_label: str
    applies: bool
    note: str
    state: str
    tasks: list[WorkflowTask] = field(default_factory=list)
    # Open tasks of a stuck node held by people who cannot see or decide them (``is_stuck``).
    stuck_on: list[WorkflowTask] = field(default_factory=list)


@dataclass
class LevelView:
    number: int
    name: str
    parallel: bool
    nodes: list[NodeView]


@dataclass
class CaseProgress:
    instance: WorkflowInstance
    diagram: SafeString
    levels: list[LevelView]
    my_open: list[WorkflowTask]
    my_withdrawable: list[WorkflowTask]
    amount: Decimal | None
    first_level: int | None  # the first level with an applicable node (no 退回上一级 there)
    reject_to_supplement: set[str]  # nodes whose rejection sends the case back for 补正


def instance_of(subject_type: str, subject_id: int) -> WorkflowInstance | None:
    """The workflow instance of a case, with its workflow version; None before review."""
    return (
        WorkflowInstance.objects.select_related("workflow")
        .filter(subject_type=subject_type, subject_id=subject_id)
        .first()
    )


def case_progress(
    user: Any,
    instance: WorkflowInstance,
    row: Any,
    amount: Decimal | None = None,
    now: dt.datetime | None = None,
) -> CaseProgress:
    """The workflow of a case (``instance``, its subject's ``row``) as a case page shows it:
    diagram, nodes and their approvers, the user's open and withdrawable tasks."""
    now = now or timezone.now()
    definition = definition_from_json(instance.definition)
    state = state_from_json(instance.state)
    spec = specs.parse(instance.workflow.spec)
    tasks = list(
        instance.tasks.select_related("assignee", "department")
        .prefetch_related("attachments")
        .order_by("round", "id")
    )
    overdue = {t.node_key for t in tasks if t.status == TaskStatus.OPEN and t.due_at < now}
    states = node_states(definition, state, overdue)
    names = specs.drawing_labels(spec)
    labels = subjects.get(instance.subject_type).fact_labels(row)
    by_node: dict[str, list[WorkflowTask]] = defaultdict(list)
    for task in tasks:
        by_node[task.node_key].append(task)
    able = deciders_among(t.assignee_id for t in tasks if t.status == TaskStatus.OPEN)
    levels = [
        LevelView(
            number=index,
            name=spec_level.name,
            parallel=spec_level.parallel,
            nodes=[
                _node_view(spec_node, node, states, instance.notes, by_node[node.key], able, labels)
                for spec_node, node in zip(spec_level.nodes, level.nodes, strict=True)
            ],
        )
        for index, (spec_level, level) in enumerate(
            zip(spec.levels, definition.levels, strict=True), 1
        )
    ]
    running = instance.status == InstanceStatus.RUNNING
    rounds = dict(state.node_rounds)
    return CaseProgress(
        instance=instance,
        diagram=mark_safe(render_svg(definition, node_states=states, node_labels=names)),  # noqa: S308 render_svg escapes every label
        levels=levels,
        my_open=[t for t in tasks if t.assignee_id == user.pk and t.status == TaskStatus.OPEN],
        my_withdrawable=[
            t
            for t in tasks
            if running
            and t.assignee_id == user.pk
            and t.status == TaskStatus.APPROVED
            and t.round == rounds.get(t.node_key)
        ],
        amount=amount,
        first_level=_first_level(definition),
        reject_to_supplement={n.key for n in spec.nodes() if n.on_reject == "supplement"},
    )


def _first_level(definition: Definition) -> int | None:
    return next((i for i, level in enumerate(definition.levels) if level.applicable), None)


def returns_nowhere(task: WorkflowTask) -> bool:
    """Whether the task is on the case's first level (退回上一级 has nowhere to go)."""
    first = _first_level(definition_from_json(task.instance.definition))
    return first is None or task.level <= first


def _node_view(
    spec_node: specs.NodeSpec,
    node: Node,
    states: dict[str, str],
    notes: dict[str, str],
    tasks: list[WorkflowTask],
    deciders: set[int],
    labels: dict[str, str],
) -> NodeView:
    waiting = [task for task in tasks if task.status == TaskStatus.OPEN]
    stuck = bool(waiting) and is_stuck(spec_node.mode, (t.assignee_id for t in waiting), deciders)
    return NodeView(
        key=node.key,
        name=spec_node.name,
        mode_label=specs.MODE_LABELS[spec_node.mode],
        limit_label=spec_node.limit_label,
        on_reject_label=specs.ON_REJECT_LABELS[spec_node.on_reject],
        applies=node.applies,
        note=specs.note_in_words((notes or {}).get(node.key, ""), spec_node.condition, labels),
        state=states.get(node.key, "not_applicable"),
        tasks=tasks,
        stuck_on=[task for task in waiting if task.assignee_id not in deciders] if stuck else [],
    )


def transfer_targets(user: Any, task: WorkflowTask) -> QuerySet[User]:
    """Active staff of the task's department who can decide it, other than the user (转办 stays in
    the department; handing a task to someone who cannot act would leave the node stuck)."""
    if task.department_id is None:
        return User.objects.none()
    return (
        User.objects.filter(
            candidates.decider_q(), department_id=task.department_id, kind=User.Kind.STAFF
        )
        .exclude(pk=user.pk)
        .order_by("real_name", "id")
    )


# --------------------------------------------------------------------------- approvers
@dataclass(frozen=True)
class ApproverLoad:
    open: int = 0
    overdue: int = 0
    recent_done: int = 0
    avg_hours: float | None = None


def approvers(user: Any) -> QuerySet[User]:
    """Active staff in the user's data scope who approve: granted the to-do list, or holding tasks."""
    grants = Menu.objects.filter(
        permission=APPROVER_PERMISSION,
        status=Status.ENABLED,
        roles__status=Status.ENABLED,
        roles__users=OuterRef("pk"),
    )
    holds = WorkflowTask.objects.filter(assignee=OuterRef("pk"))
    return (
        User.objects.filter(
            scope_q(user, dept_field="department", owner_field=None),
            kind=User.Kind.STAFF,
            is_active=True,
        )
        .filter(Exists(grants) | Exists(holds))
        .select_related("department")
        .prefetch_related("posts", "roles")
        .order_by("department__path", "department__order", "real_name", "id")
    )


def _hours(value: dt.timedelta | None) -> float | None:
    return round(value.total_seconds() / 3600, 1) if value is not None else None


def duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def approver_loads(
    people: Iterable[User], now: dt.datetime | None = None
) -> dict[int, ApproverLoad]:
    """Open, overdue and recently decided tasks and the average handling time of each person,
    from one aggregate query over the page's people."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=RECENT_DAYS)
    recent = Q(status__in=DECIDED, decided_at__gte=since)
    rows = (
        WorkflowTask.objects.filter(assignee__in=[person.pk for person in people])
        .values("assignee_id")
        .annotate(
            open=Count("id", filter=Q(status=TaskStatus.OPEN)),
            overdue=Count("id", filter=Q(status=TaskStatus.OPEN, due_at__lt=now)),
            recent_done=Count("id", filter=recent),
            avg=Avg(duration("decided_at", "opened_at"), filter=recent),
        )
        .order_by()
    )
    return {
        row["assignee_id"]: ApproverLoad(
            row["open"], row["overdue"], row["recent_done"], _hours(row["avg"])
        )
        for row in rows
    }


# --------------------------------------------------------------------------- time-limit stats
TASK_ON_TIME = Figure(
    "task_on_time_rate",
    "任务按期办结率",
    "按期办结的审批任务 ÷ 应办结的审批任务。应办结：期间内通过、驳回或退回的任务，"
    "加上节点期限已在期间内届满、至统计时仍未办理的任务（计为未按期）；"
    "按期：办理时间不晚于节点期限。",
    "期间按北京时间的日期计；未办理的任务以统计时的状态为准。",
)


@dataclass(frozen=True)
class Period:
    """Local dates ``start``..``end`` (both included)."""

    start: dt.date
    end: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = timezone.get_current_timezone()
        first = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return first, after


@dataclass(frozen=True)
class TimelinessRow:
    """``total`` is what was due (``TASK_ON_TIME``, or a subject's case figure such as
    ``applications.selectors_review.CASE_ON_TIME``), ``open_overdue`` the part of it still
    undecided past its deadline."""

    label: str
    code: str
    total: int
    on_time: int
    avg_hours: float | None
    open_overdue: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.on_time * 100 / self.total, 1) if self.total else None

    @property
    def avg_days(self) -> float | None:
        return round(self.avg_hours / 24, 1) if self.avg_hours is not None else None

    @property
    def decided(self) -> int:
        return self.total - self.open_overdue


def timeliness_total(rows: list[TimelinessRow], label: str) -> TimelinessRow:
    """The sum of ``rows``; the average weighted by the decided rows it stands on."""
    weighted = [(row.avg_hours, row.decided) for row in rows if row.avg_hours is not None]
    hours = sum(h * n for h, n in weighted) / sum(n for _, n in weighted) if weighted else None
    return TimelinessRow(
        label,
        "",
        sum(row.total for row in rows),
        sum(row.on_time for row in rows),
        round(hours, 1) if hours is not None else None,
        sum(row.open_overdue for row in rows),
    )


def due_window(period: Period, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime, Q]:
    """The period's bounds, and rows whose deadline passed within it by ``now`` (undecided)."""
    first, after = period.bounds()
    lapsed = Q(due_at__gte=first, due_at__lt=min(after, now or timezone.now()))
    return first, after, lapsed


def timeliness_row(label: str, code: str, row: dict[str, Any]) -> TimelinessRow:
    """A row from an aggregate of ``total``, ``on_time``, ``open_overdue`` and ``avg``."""
    return TimelinessRow(
        label, code, row["total"], row["on_time"], _hours(row["avg"]), row["open_overdue"]
    )


def task_timeliness(
    user: Any, period: Period, now: dt.datetime | None = None
) -> tuple[list[TimelinessRow], TimelinessRow]:
    """Per department: tasks due in the period (``TASK_ON_TIME``) — decided in it, or still open
    with their node deadline passed within it — how many by that deadline, and the average
    time from arrival to decision. One aggregate query."""
    first, after, lapsed = due_window(period, now)
    decided = Q(status__in=DECIDED, decided_at__gte=first, decided_at__lt=after)
    rows = (
        WorkflowTask.objects.filter(queue_scope(user))
        .filter(decided | (lapsed & Q(status=TaskStatus.OPEN)))
        .values("department_id", "department__name", "department__path")
        .annotate(
            total=Count("id"),
            on_time=Count("id", filter=Q(decided_at__lte=F("due_at"))),
            open_overdue=Count("id", filter=Q(status=TaskStatus.OPEN)),
            avg=Avg(duration("decided_at", "opened_at")),
        )
        .order_by("department__path")
    )
    found = [timeliness_row(row["department__name"] or "未设部门", "", row) for row in rows]
    return found, timeliness_total(found, "合计")
