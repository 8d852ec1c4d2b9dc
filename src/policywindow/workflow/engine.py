"""The pure core of the workflow engine: ``step(definition, state, event) -> Result``.

No Django, no I/O, no clock: the same definition, state and event always give the same result.
State is a tree of frozen dataclasses; ``step`` never mutates its input.

Rounds: every (re)entry of a level increments that level's round. A node opened during an entry is
stamped with the level's round, and its tasks carry that round, so "the node's current round" is
the round of its latest opening. A 补正 resume re-opens only the node that asked and the nodes of a
parallel level that had not finished; nodes that had already approved keep their approvals.

Withdraw (撤回): an approver may take back an approval while nothing caused by it has been decided.
Every task records the approval that opened it (``cause``); the approval's downstream is the
transitive closure over ``cause``. Withdrawing cancels the open downstream tasks, re-opens the
withdrawer's task (and, for 或签, the peers that the approval had cancelled) and, when the approval
had completed its level, moves the case back to that level in a new round. Later approvals of the
same level are roots too: a 会签 or 并审 level may have completed only because this approval existed.

Rejection on the first level with ``on_reject="previous_level"`` ends the case; an explicit
``Return(to="previous_level")`` on the first level is refused instead (the approver asked for
something impossible).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from .definition import Definition, Level, Node, UserId, WorkflowError

TaskStatus = Literal[
    "open", "approved", "rejected", "returned", "cancelled", "withdrawn", "transferred"
]
CaseStatus = Literal["new", "running", "approved", "rejected", "supplement", "withdrawn"]
DECIDED: frozenset[str] = frozenset({"approved", "rejected", "returned"})

ANY_CANCEL_REASON = "或签：已由他人审批"
WITHDRAW_CANCEL_REASON = "上一环节已撤回审批"


# --------------------------------------------------------------------------- errors
class InvalidEvent(WorkflowError):
    """The event cannot be applied to the current state."""


class UnknownTask(InvalidEvent):
    pass


class NotAssignee(InvalidEvent):
    pass


class TaskNotOpen(InvalidEvent):
    pass


class CaseStateError(InvalidEvent):
    pass


class OpinionRequired(InvalidEvent):
    pass


class TransferNotAllowed(InvalidEvent):
    pass


class ReturnNotAllowed(InvalidEvent):
    pass


class WithdrawNotAllowed(InvalidEvent):
    pass


# Why a task that is no longer open cannot be acted on, by its status.
NOT_OPEN_MESSAGES = {
    "approved": "该任务已处理，不能重复审批",
    "rejected": "该任务已处理，不能重复审批",
    "returned": "该任务已处理，不能重复审批",
    "cancelled": "该任务已取消，无需处理",
    "withdrawn": "该审批已撤回，请处理新的待办",
    "transferred": "该任务已转办他人",
}


# --------------------------------------------------------------------------- state
@dataclass(frozen=True)
class Task:
    id: str
    node: str
    level: int
    slot: int  # index of the candidate this task stands for (kept across transfers)
    assignee: UserId
    round: int
    status: TaskStatus = "open"
    cause: str | None = None  # the approval whose effect opened this task
    closed_by: str | None = None  # the decision that cancelled this task
    reason: str = ""
    decided_at: int | None = None  # State.clock of the decision


@dataclass(frozen=True)
class State:
    status: CaseStatus
    level: int | None
    tasks: tuple[Task, ...]
    level_rounds: tuple[int, ...]
    node_rounds: tuple[tuple[str, int], ...]
    supplement_node: str | None = None
    clock: int = 0

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise UnknownTask(f"任务不存在：{task_id}")

    def open_tasks(self) -> tuple[Task, ...]:
        return tuple(task for task in self.tasks if task.status == "open")

    def node_round(self, key: str) -> int:
        return dict(self.node_rounds)[key]


def node_done(node: Node, tasks: Iterable[Task]) -> bool:
    """Whether ``tasks`` (the node's tasks of one round) complete the node: one approval for
    或签, an approval for every candidate otherwise. The one statement of the rule: the engine
    moves on by it and the case page colours nodes by it."""
    approved = {task.slot for task in tasks if task.status == "approved"}
    if node.mode == "any":
        return bool(approved)
    return approved == set(range(len(node.candidates)))


def initial_state(definition: Definition) -> State:
    return State(
        status="new",
        level=None,
        tasks=(),
        level_rounds=tuple(0 for _ in definition.levels),
        node_rounds=tuple((key, 0) for key in definition.node_keys()),
    )


# --------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Approve:
    task_id: str
    actor: UserId


@dataclass(frozen=True)
class Reject:
    task_id: str
    actor: UserId
    reason: str


@dataclass(frozen=True)
class Return:
    task_id: str
    actor: UserId
    to: Literal["previous_level", "supplement"]
    reason: str = ""


@dataclass(frozen=True)
class Resubmit:
    pass


@dataclass(frozen=True)
class Transfer:
    task_id: str
    actor: UserId
    to_user: UserId


@dataclass(frozen=True)
class Withdraw:
    task_id: str
    actor: UserId


@dataclass(frozen=True)
class Reopen:
    """An approved case goes back to its last level (e.g. an objection during publicity was
    upheld): that level's nodes are opened again in a new round."""


@dataclass(frozen=True)
class Cancel:
    """The case leaves review without a decision (the enterprise withdrew it): every open task
    is cancelled with the reason and the case ends as withdrawn."""

    reason: str


Event = Start | Approve | Reject | Return | Resubmit | Transfer | Withdraw | Reopen | Cancel


# --------------------------------------------------------------------------- effects
@dataclass(frozen=True)
class TaskOpened:
    task_id: str
    node: str
    level: int
    assignee: UserId
    round: int


@dataclass(frozen=True)
class TaskDecided:
    task_id: str
    status: TaskStatus


@dataclass(frozen=True)
class TaskCancelled:
    task_id: str
    reason: str


@dataclass(frozen=True)
class TaskTransferred:
    task_id: str
    to_task_id: str
    to_user: UserId


@dataclass(frozen=True)
class TaskWithdrawn:
    task_id: str


@dataclass(frozen=True)
class LevelEntered:
    level: int
    round: int


@dataclass(frozen=True)
class LevelSkipped:
    level: int


@dataclass(frozen=True)
class NodeCompleted:
    node: str
    level: int
    round: int


@dataclass(frozen=True)
class LevelCompleted:
    level: int
    round: int


@dataclass(frozen=True)
class SupplementRequested:
    node: str
    reason: str


@dataclass(frozen=True)
class CaseResumed:
    node: str


@dataclass(frozen=True)
class CaseFinished:
    status: CaseStatus


Effect = (
    TaskOpened
    | TaskDecided
    | TaskCancelled
    | TaskTransferred
    | TaskWithdrawn
    | LevelEntered
    | LevelSkipped
    | NodeCompleted
    | LevelCompleted
    | SupplementRequested
    | CaseResumed
    | CaseFinished
)


@dataclass(frozen=True)
class Result:
    state: State
    effects: tuple[Effect, ...]


# --------------------------------------------------------------------------- the core
def step(definition: Definition, state: State, event: Event) -> Result:
    """Apply one event; raise an ``InvalidEvent`` subclass (Chinese message) if it cannot apply."""
    run = _Run(definition, state)
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise InvalidEvent(f"无法识别的流程事件：{type(event).__name__}")
    handler(run, event)
    return run.result()


class _Run:
    """Working copy of a state for one step; local mutation only, frozen again by ``result``."""

    def __init__(self, definition: Definition, state: State) -> None:
        self.definition = definition
        self.state = state
        self.status: CaseStatus = state.status
        self.level = state.level
        self.tasks = {task.id: task for task in state.tasks}  # insertion-ordered
        self.level_rounds = list(state.level_rounds)
        self.node_rounds = dict(state.node_rounds)
        self.supplement_node = state.supplement_node
        self.clock = state.clock + 1
        self.effects: list[Effect] = []

    def result(self) -> Result:
        state = State(
            status=self.status,
            level=self.level,
            tasks=tuple(self.tasks.values()),
            level_rounds=tuple(self.level_rounds),
            node_rounds=tuple(self.node_rounds.items()),
            supplement_node=self.supplement_node,
            clock=self.clock,
        )
        return Result(state, tuple(self.effects))

    # ----- lookups
    def actionable(self, task_id: str, actor: UserId) -> Task:
        task = self.state.task(task_id)
        if task.assignee != actor:
            raise NotAssignee("您不是该任务的办理人，不能处理")
        if task.status != "open":
            raise TaskNotOpen(NOT_OPEN_MESSAGES[task.status])
        return task

    def node_tasks(self, key: str) -> list[Task]:
        current = self.node_rounds[key]
        return [t for t in self.tasks.values() if t.node == key and t.round == current]

    def node_done(self, node: Node) -> bool:
        return node_done(node, self.node_tasks(node.key))

    def level_of(self, index: int) -> Level:
        return self.definition.levels[index]

    # ----- task changes
    def new_id(self, key: str, round_: int, user: UserId) -> str:
        base = f"{key}#{round_}#{user}"
        candidate, n = base, 1
        while candidate in self.tasks:
            n += 1
            candidate = f"{base}~{n}"
        return candidate

    def open_task(self, key: str, level: int, slot: int, user: UserId, cause: str | None) -> Task:
        round_ = self.node_rounds[key]
        task = Task(self.new_id(key, round_, user), key, level, slot, user, round_, cause=cause)
        self.tasks[task.id] = task
        self.effects.append(TaskOpened(task.id, key, level, user, round_))
        return task

    def close(
        self, task: Task, status: TaskStatus, reason: str = "", by: str | None = None
    ) -> Task:
        decided_at = self.clock if status in DECIDED else task.decided_at
        closed = replace(task, status=status, reason=reason, closed_by=by, decided_at=decided_at)
        self.tasks[task.id] = closed
        if status == "cancelled":
            self.effects.append(TaskCancelled(task.id, reason))
        elif status in DECIDED:
            self.effects.append(TaskDecided(task.id, status))
        return closed

    def cancel(self, tasks: list[Task], reason: str, by: str) -> None:
        for task in tasks:
            self.close(task, "cancelled", reason, by)

    # ----- movement
    def open_node(self, index: int, node: Node, cause: str | None) -> None:
        self.node_rounds[node.key] = self.level_rounds[index]
        first = node.candidates[:1] if node.mode == "sequential" else node.candidates
        for slot, user in enumerate(first):
            self.open_task(node.key, index, slot, user, cause)

    def enter_level(self, index: int, cause: str | None) -> None:
        level = self.level_of(index)
        self.level_rounds[index] += 1
        self.level = index
        self.status = "running"
        for node in level.applicable:  # a fresh round: nothing from earlier rounds counts
            self.node_rounds[node.key] = self.level_rounds[index]
        self.effects.append(LevelEntered(index, self.level_rounds[index]))
        for node in level.applicable if level.parallel else level.applicable[:1]:
            self.open_node(index, node, cause)

    def advance(self, after: int, cause: str | None) -> None:
        for index in range(after + 1, len(self.definition.levels)):
            if self.level_of(index).applicable:
                self.enter_level(index, cause)
                return
            self.effects.append(LevelSkipped(index))
        self.finish("approved")

    def finish(self, status: CaseStatus) -> None:
        self.status = status
        self.effects.append(CaseFinished(status))

    def previous_level(self, index: int) -> int | None:
        for earlier in range(index - 1, -1, -1):
            if self.level_of(earlier).applicable:
                return earlier
        return None


# --------------------------------------------------------------------------- handlers
def _start(run: _Run, event: Start) -> None:
    if run.status != "new":
        raise CaseStateError("流程已启动，不能重复启动")
    run.advance(-1, None)


def _approve(run: _Run, event: Approve) -> None:
    task = run.close(run.actionable(event.task_id, event.actor), "approved")
    node = run.definition.node(task.node)
    if node.mode == "any":
        others = [t for t in run.node_tasks(node.key) if t.status == "open"]
        run.cancel(others, ANY_CANCEL_REASON, task.id)
    elif node.mode == "sequential" and task.slot + 1 < len(node.candidates):
        run.open_task(node.key, task.level, task.slot + 1, node.candidates[task.slot + 1], task.id)
    if not run.node_done(node):
        return
    run.effects.append(NodeCompleted(node.key, task.level, task.round))
    level = run.level_of(task.level)
    pending = [n for n in level.applicable if not run.node_done(n)]
    if not pending:
        run.effects.append(LevelCompleted(task.level, run.level_rounds[task.level]))
        run.advance(task.level, task.id)
    elif not level.parallel:  # one after another: earlier nodes are done, open the next one
        run.open_node(task.level, pending[0], task.id)


def _reject(run: _Run, event: Reject) -> None:
    if not event.reason.strip():
        raise OpinionRequired("驳回时必须填写审批意见")
    task = run.actionable(event.task_id, event.actor)
    _turn_down(run, task, "rejected", run.definition.node(task.node).on_reject, event.reason)


def _return(run: _Run, event: Return) -> None:
    if event.to not in ("previous_level", "supplement"):
        raise ReturnNotAllowed(f"无效的退回去向：{event.to}")
    task = run.actionable(event.task_id, event.actor)
    if event.to == "previous_level" and run.previous_level(task.level) is None:
        raise ReturnNotAllowed("当前已是第一级审批，无法退回上一级")
    _turn_down(run, task, "returned", event.to, event.reason)


def _turn_down(run: _Run, task: Task, status: TaskStatus, action: str, reason: str) -> None:
    """A rejection or return acts at once: cancel the level's other open tasks, then move."""
    task = run.close(task, status, reason)
    verb = "驳回" if status == "rejected" else "退回"
    cancelled = f"「{task.node}」已{verb}：{reason}" if reason else f"「{task.node}」已{verb}"
    others = [t for t in run.tasks.values() if t.status == "open" and t.level == task.level]
    run.cancel(others, cancelled, task.id)
    previous = run.previous_level(task.level)
    if action == "end" or (action == "previous_level" and previous is None):
        run.finish("rejected")  # the first level has nothing to return to: treat as end
    elif action == "previous_level" and previous is not None:
        run.enter_level(previous, None)
    else:
        run.status = "supplement"
        run.supplement_node = task.node
        run.effects.append(SupplementRequested(task.node, reason))


def _resubmit(run: _Run, event: Resubmit) -> None:
    if run.status != "supplement" or run.supplement_node is None or run.level is None:
        raise CaseStateError("当前案件不在补正状态，无需重新提交")
    index, asked = run.level, run.definition.node(run.supplement_node)
    level = run.level_of(index)
    run.level_rounds[index] += 1
    run.status, run.supplement_node = "running", None
    run.effects.append(CaseResumed(asked.key))
    run.effects.append(LevelEntered(index, run.level_rounds[index]))
    unfinished = [n for n in level.applicable if n == asked or not run.node_done(n)]
    for node in unfinished if level.parallel else [asked]:
        run.open_node(index, node, None)


def _transfer(run: _Run, event: Transfer) -> None:
    task = run.actionable(event.task_id, event.actor)
    node = run.definition.node(task.node)
    involved = set(node.candidates) | {t.assignee for t in run.node_tasks(node.key)}
    if event.to_user in involved:
        raise TransferNotAllowed("该用户已是本节点的审批人，不能转办给他")
    run.close(task, "transferred", f"转办给 {event.to_user}")
    new = run.open_task(task.node, task.level, task.slot, event.to_user, task.cause)
    run.effects.append(TaskTransferred(task.id, new.id, event.to_user))


def _withdraw(run: _Run, event: Withdraw) -> None:
    task = run.state.task(event.task_id)
    if task.assignee != event.actor:
        raise NotAssignee("只能撤回本人的审批")
    downstream = _check_withdrawable(run, task)
    node = run.definition.node(task.node)
    peers = [  # 或签 peers that this approval had cancelled come back
        t
        for t in run.node_tasks(node.key)
        if t.closed_by == task.id and t.status == "cancelled" and t.reason == ANY_CANCEL_REASON
    ]
    run.close(task, "withdrawn", "审批人撤回")
    run.effects.append(TaskWithdrawn(task.id))
    run.cancel([t for t in downstream if t.status == "open"], WITHDRAW_CANCEL_REASON, task.id)
    if task.level != run.level:  # the approval had completed its level: go back to it
        run.level = task.level
        run.level_rounds[task.level] += 1
        run.effects.append(LevelEntered(task.level, run.level_rounds[task.level]))
    for again in sorted([task, *peers], key=lambda t: t.slot):
        run.open_task(again.node, again.level, again.slot, again.assignee, task.cause)


def _reopen(run: _Run, event: Reopen) -> None:
    if run.status != "approved":
        raise CaseStateError("只有审核通过的案件可以重新审核")
    last = run.previous_level(len(run.definition.levels))
    if last is None:  # approved at once: no level applied to this case
        raise CaseStateError("该案件没有可重新办理的审批层级")
    run.enter_level(last, None)


def _cancel(run: _Run, event: Cancel) -> None:
    if run.status not in ("running", "supplement"):
        raise CaseStateError("只有审核中的案件可以撤销审批流程")
    run.cancel(list(run.state.open_tasks()), event.reason, "cancel")
    run.supplement_node = None
    run.finish("withdrawn")


def _check_withdrawable(run: _Run, task: Task) -> list[Task]:
    """Return the approval's downstream tasks, or raise why it cannot be withdrawn."""
    if task.status != "approved":
        raise WithdrawNotAllowed("只能撤回已通过的审批")
    if run.status != "running" or run.level is None:
        raise WithdrawNotAllowed("案件已办结或正在补正，不能撤回")
    if task.round != run.node_rounds[task.node] or task.level > run.level:
        raise WithdrawNotAllowed("该审批所在环节已重新办理，不能撤回")
    downstream = _downstream(run, _roots(run, task))
    if any(t.status in DECIDED for t in downstream):
        raise WithdrawNotAllowed("下一环节已处理，不能撤回")
    ids = {t.id for t in downstream}
    if task.level < run.level and any(
        t.id not in ids for t in run.tasks.values() if t.status == "open"
    ):
        raise WithdrawNotAllowed("下一环节已处理，不能撤回")
    return downstream


def _roots(run: _Run, task: Task) -> set[str]:
    """The approvals whose consequences depend on ``task``.

    Besides the approval itself: the approval that completed its node (会签 needs every vote) and,
    when the case has moved past its level, the approval that completed the level (并审 needs
    every node). Those are the latest approvals in force in the node and in the level.
    """
    node = run.definition.node(task.node)
    roots = {task.id}
    if run.node_done(node):
        roots.add(_latest_approval(run, {node.key}).id)
    if run.level is not None and task.level < run.level:
        level_nodes = {n.key for n in run.level_of(task.level).applicable}
        roots.add(_latest_approval(run, level_nodes).id)
    return roots


def _latest_approval(run: _Run, keys: set[str]) -> Task:
    approvals = [
        t
        for t in run.tasks.values()
        if t.node in keys and t.status == "approved" and t.round == run.node_rounds[t.node]
    ]
    return max(approvals, key=lambda t: t.decided_at or 0)


def _downstream(run: _Run, roots: set[str]) -> list[Task]:
    causes, found = set(roots), []
    for task in run.tasks.values():  # tasks are in creation order, so one pass suffices
        if task.cause in causes:
            causes.add(task.id)
            found.append(task)
    return found


_HANDLERS = {
    Start: _start,
    Approve: _approve,
    Reject: _reject,
    Return: _return,
    Resubmit: _resubmit,
    Transfer: _transfer,
    Withdraw: _withdraw,
    Reopen: _reopen,
    Cancel: _cancel,
}
