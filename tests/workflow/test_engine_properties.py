"""Property-based tests of the workflow core over random definitions and random decisions."""

from collections import Counter

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policywindow.workflow.definition import Definition, Level, Node
from policywindow.workflow.engine import (
    DECIDED,
    Approve,
    CaseStateError,
    InvalidEvent,
    LevelCompleted,
    LevelEntered,
    NotAssignee,
    Reject,
    Reopen,
    Resubmit,
    Return,
    Start,
    State,
    TaskDecided,
    TaskNotOpen,
    TaskOpened,
    Transfer,
    TransferNotAllowed,
    UnknownTask,
    Withdraw,
    WithdrawNotAllowed,
    initial_state,
    step,
)

USERS = tuple(f"u{n}" for n in range(1, 7))
MAX_STEPS = 40
FINAL = {"approved", "cancelled", "rejected", "returned", "transferred", "withdrawn"}


@st.composite
def definitions(draw) -> Definition:
    levels = []
    for li in range(draw(st.integers(1, 4))):
        nodes = [
            Node(
                key=f"L{li}N{ni}",
                candidates=tuple(
                    draw(st.lists(st.sampled_from(USERS[:4]), min_size=1, max_size=3, unique=True))
                ),
                mode=draw(st.sampled_from(["any", "all", "sequential"])),
                on_reject=draw(st.sampled_from(["end", "previous_level", "supplement"])),
                applies=draw(st.booleans() | st.just(True)),
            )
            for ni in range(draw(st.integers(1, 3)))
        ]
        levels.append(Level(tuple(nodes), parallel=draw(st.booleans())))
    return Definition(tuple(levels))


def pick_event(data, state: State):
    """A random event: mostly valid decisions, sometimes an invalid one with the error it must raise."""
    if state.status == "new":
        return Start(), None
    if state.status == "supplement":
        return Resubmit(), None
    opened = state.open_tasks()
    closed = [t for t in state.tasks if t.status != "open"]
    kind = data.draw(
        st.sampled_from(
            ["approve"] * 6
            + ["reject", "return_prev", "return_supp", "transfer", "withdraw", "invalid"]
        )
    )
    if kind == "withdraw" and any(t.status == "approved" for t in state.tasks):
        task = data.draw(st.sampled_from([t for t in state.tasks if t.status == "approved"]))
        return Withdraw(task.id, task.assignee), WithdrawNotAllowed
    if kind == "invalid":
        return pick_invalid(data, opened, closed)
    task = data.draw(st.sampled_from(opened))
    if kind == "reject":
        return Reject(task.id, task.assignee, "不符合条件"), None
    if kind == "return_prev":
        return Return(task.id, task.assignee, "previous_level", "请复核"), InvalidEvent
    if kind == "return_supp":
        return Return(task.id, task.assignee, "supplement", "请补充材料"), None
    if kind == "transfer":
        return Transfer(
            task.id, task.assignee, data.draw(st.sampled_from(USERS))
        ), TransferNotAllowed
    return Approve(task.id, task.assignee), None


def pick_invalid(data, opened, closed):
    choice = data.draw(st.sampled_from(["unknown", "stranger", "closed"]))
    if choice == "closed" and closed:
        task = data.draw(st.sampled_from(closed))
        return Approve(task.id, task.assignee), TaskNotOpen
    if choice == "stranger":
        task = data.draw(st.sampled_from(opened))
        return Approve(task.id, "stranger"), NotAssignee
    return Approve("no-such-task", "u1"), UnknownTask


class Observer:
    """Checks the invariants after every step of one random run."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.completed_levels: Counter = Counter()
        self.decided: Counter = Counter()
        # per node, the clock of its last fresh start: its level entered anew (not by a withdraw)
        # or the node re-opened by a 补正 resume. Only approvals given after it count; this is
        # computed from the effects, independently of the engine's own rounds.
        self.fresh_since: dict[str, int] = {}

    def check(self, before: State, event, after: State, effects) -> None:
        for effect in effects:
            if isinstance(effect, LevelEntered) and not isinstance(event, (Resubmit, Withdraw)):
                for node in self.definition.levels[effect.level].nodes:
                    self.fresh_since[node.key] = after.clock
            if isinstance(effect, TaskOpened) and isinstance(event, Resubmit):
                self.fresh_since[effect.node] = after.clock
            if isinstance(effect, LevelCompleted):
                key = (effect.level, effect.round)
                self.completed_levels[key] += 1
                assert self.completed_levels[key] == 1, f"第 {key} 级同一轮次完成了两次"
            if isinstance(effect, TaskDecided):
                self.decided[effect.task_id] += 1
                assert self.decided[effect.task_id] == 1, f"任务 {effect.task_id} 被重复处理"
        self.check_tasks(before, event, after)
        if isinstance(event, (Reject, Return)):
            level = before.task(event.task_id).level
            assert not [t for t in after.open_tasks() if t.level == level], (
                "驳回/退回后本级仍有待办"
            )
        if after.status == "approved":
            self.check_approved(after)

    def check_tasks(self, before: State, event, after: State) -> None:
        ids = [t.id for t in after.tasks]
        assert len(ids) == len(set(ids)), "任务标识重复"
        previous = {t.id: t for t in before.tasks}
        for task in after.tasks:
            old = previous.get(task.id)
            if old is not None and old.status in FINAL and old.status != task.status:
                assert (old.status, task.status) == ("approved", "withdrawn"), "已处理的任务被改变"
                assert isinstance(event, Withdraw) and event.task_id == task.id
        if after.status == "running":
            assert after.open_tasks(), "办理中的案件必须有待办，流程不能卡住"
        for task in after.open_tasks():
            assert after.status == "running", "非办理中的案件不应有待办"
            assert task.level == after.level, "待办只能在当前层级"
            assert task.round == after.node_round(task.node)
        for key in {t.node for t in after.tasks}:
            node = self.definition.node(key)
            approvals = [
                t
                for t in after.tasks
                if t.node == key and t.round == after.node_round(key) and t.status == "approved"
            ]
            if node.mode == "any":
                assert len(approvals) <= 1, "或签节点在同一轮次只能有一个有效审批"

    def check_approved(self, state: State) -> None:
        assert not state.open_tasks()
        for level in self.definition.levels:
            for node in level.nodes:
                if node.applies:
                    self.check_node_approved(state, node, self.fresh_since[node.key])

    def check_node_approved(self, state: State, node: Node, since: int) -> None:
        approvals = sorted(
            (
                t
                for t in state.tasks
                if t.node == node.key and t.status == "approved" and t.decided_at > since
            ),
            key=lambda t: t.decided_at,
        )
        assert {t.round for t in approvals} == {state.node_round(node.key)}, "审批须在最后一轮"
        slots = [t.slot for t in approvals]
        if node.mode == "any":
            assert len(slots) == 1, f"或签节点 {node.key} 没有审批通过"
        elif node.mode == "all":
            assert sorted(slots) == list(range(len(node.candidates))), (
                f"会签节点 {node.key} 未全部同意"
            )
        else:
            assert slots == list(range(len(node.candidates))), (
                f"依次节点 {node.key} 未按顺序全部同意"
            )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=definitions(), data=st.data())
def test_random_runs_keep_the_invariants(definition, data):
    state = initial_state(definition)
    observer = Observer(definition)
    reopened = 0
    for _ in range(MAX_STEPS):
        if state.status == "approved" and reopened < 2 and data.draw(st.booleans()):
            # An objection upheld: the last level again — if any level applied at all.
            applicable = any(node.applies for level in definition.levels for node in level.nodes)
            event, may_raise = Reopen(), None if applicable else CaseStateError
            reopened += 1
        elif state.status in ("approved", "rejected"):
            break
        else:
            event, may_raise = pick_event(data, state)
        try:
            result = step(definition, state, event)
        except InvalidEvent as exc:
            assert may_raise is not None and isinstance(exc, may_raise), f"意外的异常：{exc!r}"
            assert exc.message, "异常必须带中文说明"
            continue
        assert may_raise is None or may_raise in (
            InvalidEvent,
            TransferNotAllowed,
            WithdrawNotAllowed,
        ), f"无效事件未被拒绝：{event!r}"
        assert step(definition, state, event) == result, "同样的输入必须得到同样的输出"
        observer.check(state, event, result.state, result.effects)
        hypothesis.event(f"applied {type(event).__name__}")
        state = result.state
    hypothesis.event(f"case ended {state.status}")
    assert all(t.status in FINAL | {"open"} for t in state.tasks)


@settings(max_examples=200, deadline=None)
@given(definition=definitions())
def test_approving_everything_always_approves_the_case(definition):
    observer = Observer(definition)
    started = step(definition, initial_state(definition), Start())
    observer.check(initial_state(definition), Start(), started.state, started.effects)
    state = started.state
    for _ in range(100):
        if not state.open_tasks():
            break
        task = state.open_tasks()[0]
        before, result = state, step(definition, state, Approve(task.id, task.assignee))
        observer.check(before, Approve(task.id, task.assignee), result.state, result.effects)
        state = result.state
    assert state.status == "approved", "全部同意后案件必须通过"
    completed = set(observer.completed_levels)
    applicable = {i for i, lv in enumerate(definition.levels) if any(n.applies for n in lv.nodes)}
    assert {level for level, _ in completed} == applicable, "每个适用层级恰好完成一次"
    assert {t.status for t in state.tasks} <= DECIDED | {"cancelled"}
