"""Unit tests of the pure workflow core, one rule at a time (DESIGN.md §4)."""

import pytest

from policywindow.workflow.definition import Definition, DefinitionError, Level, Node
from policywindow.workflow.engine import (
    ANY_CANCEL_REASON,
    Approve,
    Cancel,
    CaseFinished,
    CaseStateError,
    LevelCompleted,
    LevelSkipped,
    NotAssignee,
    OpinionRequired,
    Reject,
    Resubmit,
    Return,
    ReturnNotAllowed,
    Start,
    State,
    TaskCancelled,
    TaskNotOpen,
    Transfer,
    TransferNotAllowed,
    UnknownTask,
    Withdraw,
    WithdrawNotAllowed,
    initial_state,
    step,
)


def flow(*levels: Level) -> Definition:
    return Definition(levels)


def level(*nodes: Node, parallel: bool = True) -> Level:
    return Level(nodes, parallel=parallel)


class Case:
    """Drives a definition through events, keeping the last result for assertions."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.state: State = initial_state(definition)
        self.effects: tuple = ()
        self.do(Start())

    def do(self, event) -> "Case":
        result = step(self.definition, self.state, event)
        self.state, self.effects = result.state, result.effects
        return self

    def open_ids(self) -> list[str]:
        return [t.id for t in self.state.open_tasks()]

    def status_of(self, task_id: str) -> str:
        return self.state.task(task_id).status

    def approve(self, task_id: str) -> "Case":
        return self.do(Approve(task_id, self.state.task(task_id).assignee))

    def reject(self, task_id: str, reason: str = "材料不全") -> "Case":
        return self.do(Reject(task_id, self.state.task(task_id).assignee, reason))


# ---------------------------------------------------------------- definition checks
def test_definition_refuses_a_node_without_candidates():
    with pytest.raises(DefinitionError, match="没有可办理的审批人"):
        Node("n", ())


def test_definition_refuses_duplicate_keys_and_empty_levels():
    with pytest.raises(DefinitionError, match="节点标识重复：a"):
        flow(level(Node("a", ("u1",))), level(Node("a", ("u2",))))
    with pytest.raises(DefinitionError, match="审批层级不能为空"):
        Level(())
    with pytest.raises(DefinitionError, match="审批方式无效"):
        Node("a", ("u1",), mode="majority")


def test_a_non_applicable_node_may_have_no_candidates():
    assert Node("a", (), applies=False).candidates == ()


# ---------------------------------------------------------------- start and skipping
def test_start_opens_every_applicable_node_of_a_parallel_level():
    case = Case(
        flow(level(Node("a", ("u1",)), Node("b", ("u2",)), Node("c", ("u3",), applies=False)))
    )
    assert case.open_ids() == ["a#1#u1", "b#1#u2"], "并审：所有适用节点同时打开，不适用节点跳过"
    assert case.state.status == "running"
    assert case.state.level == 0


def test_start_skips_a_level_without_applicable_nodes():
    case = Case(flow(level(Node("a", ("u1",), applies=False)), level(Node("b", ("u2",)))))
    assert LevelSkipped(0) in case.effects
    assert case.open_ids() == ["b#1#u2"]
    assert case.state.level == 1


def test_start_twice_is_refused():
    case = Case(flow(level(Node("a", ("u1",)))))
    with pytest.raises(CaseStateError, match="流程已启动"):
        case.do(Start())


def test_non_parallel_level_opens_nodes_one_after_another():
    case = Case(flow(level(Node("a", ("u1",)), Node("b", ("u2",)), parallel=False)))
    assert case.open_ids() == ["a#1#u1"], "非并审：只打开第一个节点"
    case.approve("a#1#u1")
    assert case.open_ids() == ["b#1#u2"]
    case.approve("b#1#u2")
    assert case.state.status == "approved"
    assert LevelCompleted(0, 1) in case.effects


# ---------------------------------------------------------------- modes
def test_any_mode_first_approval_closes_the_node_and_cancels_the_others():
    case = Case(flow(level(Node("a", ("u1", "u2", "u3"), mode="any")), level(Node("b", ("u4",)))))
    case.approve("a#1#u2")
    assert case.status_of("a#1#u1") == "cancelled"
    assert case.state.task("a#1#u3").reason == ANY_CANCEL_REASON
    assert TaskCancelled("a#1#u1", "或签：已由他人审批") in case.effects
    assert case.open_ids() == ["b#1#u4"], "或签：一人审批即进入下一级"


def test_all_mode_needs_every_candidate():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"))))
    case.approve("a#1#u1")
    assert case.state.status == "running", "会签：未全部同意不能通过"
    assert case.open_ids() == ["a#1#u2"]
    case.approve("a#1#u2")
    assert case.state.status == "approved"
    assert CaseFinished("approved") in case.effects


def test_sequential_mode_opens_the_next_candidate_after_each_approval():
    case = Case(flow(level(Node("a", ("u1", "u2", "u3"), mode="sequential"))))
    assert case.open_ids() == ["a#1#u1"], "依次：只打开第一位审批人"
    case.approve("a#1#u1")
    assert case.open_ids() == ["a#1#u2"]
    case.approve("a#1#u2")
    case.approve("a#1#u3")
    assert case.state.status == "approved"


# ---------------------------------------------------------------- invalid events
def test_deciding_a_task_twice_is_refused_in_chinese():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"))))
    case.approve("a#1#u1")
    with pytest.raises(TaskNotOpen, match="该任务已处理，不能重复审批"):
        case.do(Approve("a#1#u1", "u1"))


def test_only_the_assignee_may_decide():
    case = Case(flow(level(Node("a", ("u1",)))))
    with pytest.raises(NotAssignee, match="不是该任务的办理人"):
        case.do(Approve("a#1#u1", "u9"))


def test_unknown_task_is_refused():
    case = Case(flow(level(Node("a", ("u1",)))))
    with pytest.raises(UnknownTask, match="任务不存在"):
        case.do(Approve("nope", "u1"))


def test_rejection_needs_an_opinion():
    case = Case(flow(level(Node("a", ("u1",)))))
    with pytest.raises(OpinionRequired, match="必须填写审批意见"):
        case.do(Reject("a#1#u1", "u1", "  "))


def test_a_cancelled_task_cannot_be_approved():
    case = Case(flow(level(Node("a", ("u1", "u2"))), level(Node("b", ("u3",)))))
    case.approve("a#1#u1")
    with pytest.raises(TaskNotOpen, match="已取消"):
        case.do(Approve("a#1#u2", "u2"))


def test_step_does_not_change_its_input_state():
    definition = flow(level(Node("a", ("u1",))))
    started = step(definition, initial_state(definition), Start()).state
    step(definition, started, Approve("a#1#u1", "u1"))
    assert started.open_tasks()[0].id == "a#1#u1"
    assert started.status == "running"


# ---------------------------------------------------------------- rejection
def test_rejection_in_a_parallel_level_cancels_the_other_open_tasks_and_ends():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"), Node("b", ("u3",)))))
    case.reject("a#1#u1", "不符合条件")
    assert case.open_ids() == [], "驳回后本级其余待办全部取消"
    assert case.state.task("b#1#u3").reason == "「a」已驳回：不符合条件"
    assert case.state.task("a#1#u2").status == "cancelled"
    assert case.state.status == "rejected"
    assert CaseFinished("rejected") in case.effects


def test_rejection_to_previous_level_reopens_it_in_a_new_round():
    case = Case(
        flow(level(Node("a", ("u1",))), level(Node("b", ("u2",), on_reject="previous_level")))
    )
    case.approve("a#1#u1")
    case.reject("b#1#u2")
    assert case.open_ids() == ["a#2#u1"], "退回上一级：上一级以新轮次重新打开"
    assert case.state.level == 0
    case.approve("a#2#u1")
    assert case.open_ids() == ["b#2#u2"]
    case.approve("b#2#u2")
    assert case.state.status == "approved"


def test_rejection_to_previous_level_on_the_first_level_ends_the_case():
    case = Case(flow(level(Node("a", ("u1",), on_reject="previous_level"))))
    case.reject("a#1#u1")
    assert case.state.status == "rejected"


def test_previous_level_skips_levels_without_applicable_nodes():
    case = Case(
        flow(
            level(Node("a", ("u1",))),
            level(Node("x", ("u9",), applies=False)),
            level(Node("b", ("u2",), on_reject="previous_level")),
        )
    )
    case.approve("a#1#u1")
    case.reject("b#1#u2")
    assert case.open_ids() == ["a#2#u1"]


def test_supplement_waits_for_the_enterprise_and_resumes_at_the_node_that_asked():
    definition = flow(
        level(Node("a", ("u1",)), Node("b", ("u2", "u3"), mode="all", on_reject="supplement")),
        level(Node("c", ("u4",))),
    )
    case = Case(definition)
    case.approve("a#1#u1")
    case.approve("b#1#u2")
    case.reject("b#1#u3", "请补充审计报告")
    assert case.state.status == "supplement"
    assert case.state.supplement_node == "b"
    assert case.open_ids() == []
    case.do(Resubmit())
    assert case.state.status == "running"
    assert case.open_ids() == ["b#2#u2", "b#2#u3"], "补正后只重新打开提出补正的节点（新轮次）"
    case.approve("b#2#u2").approve("b#2#u3")
    assert case.open_ids() == ["c#1#u4"], "已通过的节点 a 保留其审批结果"


def test_supplement_reopens_parallel_nodes_whose_tasks_were_cancelled():
    definition = flow(level(Node("a", ("u1",), on_reject="supplement"), Node("b", ("u2",))))
    case = Case(definition)
    case.reject("a#1#u1")
    assert case.status_of("b#1#u2") == "cancelled"
    case.do(Resubmit())
    assert case.open_ids() == ["a#2#u1", "b#2#u2"]


def test_resubmit_without_supplement_is_refused():
    case = Case(flow(level(Node("a", ("u1",)))))
    with pytest.raises(CaseStateError, match="不在补正状态"):
        case.do(Resubmit())


def test_explicit_return_to_supplement_and_previous_level():
    definition = flow(level(Node("a", ("u1",))), level(Node("b", ("u2",))))
    case = Case(definition)
    with pytest.raises(ReturnNotAllowed, match="第一级"):
        case.do(Return("a#1#u1", "u1", "previous_level"))
    case.approve("a#1#u1")
    case.do(Return("b#1#u2", "u2", "previous_level", "金额需复核"))
    assert case.status_of("b#1#u2") == "returned"
    assert case.open_ids() == ["a#2#u1"]
    case.approve("a#2#u1")
    case.do(Return("b#2#u2", "u2", "supplement"))
    assert case.state.status == "supplement"
    case.do(Resubmit())
    assert case.open_ids() == ["b#3#u2"]


# ---------------------------------------------------------------- transfer
def test_transfer_hands_the_task_over_keeping_its_place():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="sequential"))))
    case.do(Transfer("a#1#u1", "u1", "u7"))
    assert case.status_of("a#1#u1") == "transferred"
    assert case.open_ids() == ["a#1#u7"]
    with pytest.raises(NotAssignee):
        case.do(Approve("a#1#u7", "u1"))
    case.approve("a#1#u7")
    assert case.open_ids() == ["a#1#u2"], "转办后依次顺序不变"


def test_transfer_to_someone_already_on_the_node_is_refused():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"))))
    with pytest.raises(TransferNotAllowed, match="已是本节点的审批人"):
        case.do(Transfer("a#1#u1", "u1", "u2"))


# ---------------------------------------------------------------- withdraw
def test_withdraw_inside_an_all_level_reopens_the_approvers_task():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"))))
    case.approve("a#1#u1")
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.status_of("a#1#u1") == "withdrawn"
    assert case.open_ids() == ["a#1#u2", "a#1#u1~2"]


def test_withdraw_any_approval_brings_back_the_cancelled_peers_and_the_level():
    case = Case(flow(level(Node("a", ("u1", "u2"))), level(Node("b", ("u3",)))))
    case.approve("a#1#u1")
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.state.level == 0, "下一级未处理时可撤回，流程回到本级"
    assert case.status_of("b#1#u3") == "cancelled"
    assert sorted(case.open_ids()) == ["a#1#u1~2", "a#1#u2~2"]
    case.approve("a#1#u2~2")
    assert case.open_ids() == ["b#2#u3"]
    assert case.state.level_rounds == (2, 2)


def test_withdraw_after_the_next_level_acted_is_refused():
    case = Case(flow(level(Node("a", ("u1",))), level(Node("b", ("u2", "u3"), mode="all"))))
    case.approve("a#1#u1")
    case.approve("b#1#u2")
    with pytest.raises(WithdrawNotAllowed, match="下一环节已处理，不能撤回"):
        case.do(Withdraw("a#1#u1", "u1"))


def test_withdraw_in_sequence_cancels_the_next_candidates_task():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="sequential"))))
    case.approve("a#1#u1")
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.status_of("a#1#u2") == "cancelled"
    assert case.open_ids() == ["a#1#u1~2"]


def test_withdraw_of_an_open_or_foreign_task_is_refused():
    case = Case(flow(level(Node("a", ("u1", "u2"), mode="all"))))
    with pytest.raises(WithdrawNotAllowed, match="只能撤回已通过的审批"):
        case.do(Withdraw("a#1#u1", "u1"))
    case.approve("a#1#u1")
    with pytest.raises(NotAssignee, match="只能撤回本人的审批"):
        case.do(Withdraw("a#1#u1", "u2"))


def test_withdraw_after_the_case_finished_is_refused():
    case = Case(flow(level(Node("a", ("u1",)))))
    case.approve("a#1#u1")
    with pytest.raises(WithdrawNotAllowed, match="已办结"):
        case.do(Withdraw("a#1#u1", "u1"))


def test_withdraw_in_sequence_after_the_next_candidate_approved_is_refused():
    case = Case(flow(level(Node("a", ("u1", "u2", "u3"), mode="sequential"))))
    case.approve("a#1#u1").approve("a#1#u2")
    with pytest.raises(WithdrawNotAllowed, match="下一环节已处理"):
        case.do(Withdraw("a#1#u1", "u1"))


def test_withdraw_of_an_early_all_approval_undoes_what_the_last_one_opened():
    case = Case(
        flow(level(Node("a", ("u1", "u2"), mode="all"), Node("b", ("u3",)), parallel=False))
    )
    case.approve("a#1#u1").approve("a#1#u2")
    assert case.open_ids() == ["b#1#u3"]
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.status_of("b#1#u3") == "cancelled", "会签节点撤回后，后续节点的待办取消"
    assert case.open_ids() == ["a#1#u1~2"]


def test_withdraw_in_a_parallel_level_undoes_the_level_completed_by_another_node():
    case = Case(flow(level(Node("a", ("u1",)), Node("b", ("u2",))), level(Node("c", ("u3",)))))
    case.approve("a#1#u1").approve("b#1#u2")
    assert case.open_ids() == ["c#1#u3"]
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.state.level == 0
    assert case.open_ids() == ["a#1#u1~2"]
    assert case.status_of("b#1#u2") == "approved", "并审中其他节点的审批保留"


def test_withdraw_leaves_an_unrelated_parallel_sequence_alone():
    case = Case(flow(level(Node("a", ("u1",)), Node("b", ("u2", "u3"), mode="sequential"))))
    case.approve("a#1#u1").approve("b#1#u2")
    case.do(Withdraw("a#1#u1", "u1"))
    assert case.status_of("b#1#u3") == "open", "撤回不影响同级其他节点的依次审批"
    assert sorted(case.open_ids()) == ["a#1#u1~2", "b#1#u3"]


def test_cancel_closes_every_open_task_and_ends_the_case_as_withdrawn():
    case = Case(flow(level(Node("a", ("u1",)), Node("b", ("u2", "u3"), mode="all"))))
    case.approve("a#1#u1")
    case.do(Cancel("企业放弃"))
    assert case.open_ids() == []
    assert case.state.status == "withdrawn"
    assert {case.status_of(t) for t in ("b#1#u2", "b#1#u3")} == {"cancelled"}
    assert case.status_of("a#1#u1") == "approved", "decisions already taken stay"
    assert CaseFinished("withdrawn") in case.effects
    with pytest.raises(CaseStateError, match="只有审核中的案件"):
        case.do(Cancel("再次撤销"))
