"""A rule's workflow as stored and drawn: levels of nodes with who acts, limits and conditions.

``WorkflowSpec`` is what the editor saves (JSON in ``WorkflowDefinition.spec``). It becomes an
engine ``Definition`` for one application in ``build_definition``: each node's candidates are
resolved and its condition evaluated once, when the case starts, so a running case never changes
under its approvers when departments or roles are edited later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policywindow.policies import engine as rules
from policywindow.policies.wording import describe
from policywindow.workflow import candidates
from policywindow.workflow.candidates import Assignee
from policywindow.workflow.definition import (
    MODES,
    ON_REJECT,
    Definition,
    DefinitionError,
    Level,
    Node,
)

if TYPE_CHECKING:
    from policywindow.workflow.subjects import CaseContext

MODE_LABELS = {"any": "或签", "all": "会签", "sequential": "依次审批"}
ON_REJECT_LABELS = {
    "end": "驳回即办结",
    "previous_level": "退回上一级",
    "supplement": "退回企业补正",
}
ON_TIMEOUT = ("remind", "escalate")
ON_TIMEOUT_LABELS = {"remind": "提醒办理人", "escalate": "提醒并上报部门负责人"}
LIMIT_UNITS = {"days": "个工作日", "hours": "小时"}
MAX_LIMIT = {"days": 30, "hours": 240}
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Facts a node condition may use besides the enterprise's registry facts and the form answers.
APPLICATION_FACTS = {"requested_amount": "申请金额（元）"}


@dataclass(frozen=True)
class NodeSpec:
    key: str
    name: str
    assignee: Assignee
    mode: str = "any"
    limit_value: int = 2
    limit_unit: str = "days"
    on_reject: str = "end"
    on_timeout: str = "remind"
    condition: str = ""

    @property
    def limit_label(self) -> str:
        return f"{self.limit_value} {LIMIT_UNITS[self.limit_unit]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "assignee": self.assignee.to_dict(),
            "mode": self.mode,
            "limit": {"value": self.limit_value, "unit": self.limit_unit},
            "on_reject": self.on_reject,
            "on_timeout": self.on_timeout,
            "condition": self.condition,
        }


@dataclass(frozen=True)
class LevelSpec:
    name: str
    parallel: bool
    nodes: tuple[NodeSpec, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parallel": self.parallel,
            "nodes": [node.to_dict() for node in self.nodes],
        }


@dataclass(frozen=True)
class WorkflowSpec:
    levels: tuple[LevelSpec, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"levels": [level.to_dict() for level in self.levels]}

    def nodes(self) -> list[NodeSpec]:
        return [node for level in self.levels for node in level.nodes]

    def node(self, key: str) -> NodeSpec:
        for node in self.nodes():
            if node.key == key:
                return node
        raise KeyError(key)


# --------------------------------------------------------------------------- parsing
def parse(data: Any) -> WorkflowSpec:
    """A stored or submitted spec; raises ``DefinitionError`` naming the level and node at fault.

    Empty levels are allowed here (a draft being drawn); ``problems`` refuses them for publishing.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("levels", []), list):
        raise DefinitionError("工作流格式无效")
    levels = tuple(_level(index, raw) for index, raw in enumerate(data.get("levels", []), 1))
    keys = [node.key for level in levels for node in level.nodes]
    if duplicates := sorted({key for key in keys if keys.count(key) > 1}):
        raise DefinitionError(f"节点标识重复：{'、'.join(duplicates)}")
    return WorkflowSpec(levels)


def _level(index: int, raw: Any) -> LevelSpec:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("nodes", []), list):
        raise DefinitionError(f"第 {index} 级格式无效")
    name = _text(raw.get("name"), f"第 {index} 级名称", 40) or f"第{index}级审批"
    nodes = tuple(_node(index, n, raw_node) for n, raw_node in enumerate(raw.get("nodes", []), 1))
    return LevelSpec(name=name, parallel=bool(raw.get("parallel", True)), nodes=nodes)


def _node(level: int, index: int, raw: Any) -> NodeSpec:
    where = f"第 {level} 级第 {index} 个节点"
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where}格式无效")
    key = str(raw.get("key", ""))
    if not KEY_PATTERN.match(key):
        raise DefinitionError(f"{where}的标识须为小写字母开头的字母、数字或下划线（最多 32 位）")
    name = _text(raw.get("name"), f"{where}名称", 40)
    if not name:
        raise DefinitionError(f"{where}缺少名称")
    where = f"节点「{name}」"
    try:
        assignee = Assignee.from_dict(raw.get("assignee"))
    except DefinitionError as exc:
        raise DefinitionError(f"{where}：{exc.message}") from exc
    limit = raw.get("limit") or {}
    unit = limit.get("unit", "days") if isinstance(limit, Mapping) else None
    value = limit.get("value") if isinstance(limit, Mapping) else None
    if unit not in LIMIT_UNITS:
        raise DefinitionError(f"{where}的时限单位无效")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LIMIT[unit]:
        raise DefinitionError(f"{where}的时限须为 1 至 {MAX_LIMIT[unit]} {LIMIT_UNITS[unit]}")
    choices = {"mode": MODES, "on_reject": ON_REJECT, "on_timeout": ON_TIMEOUT}
    defaults = {"mode": "any", "on_reject": "end", "on_timeout": "remind"}
    chosen = {name_: raw.get(name_, defaults[name_]) for name_ in choices}
    for name_, allowed in choices.items():
        if chosen[name_] not in allowed:
            raise DefinitionError(f"{where}的设置无效：{name_}={chosen[name_]}")
    condition = _text(raw.get("condition"), f"{where}的适用条件", 500)
    return NodeSpec(
        key=key,
        name=name,
        assignee=assignee,
        limit_value=value,
        limit_unit=unit,
        condition=condition,
        **chosen,
    )


def _text(value: Any, label: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DefinitionError(f"{label}格式无效")
    if len(value.strip()) > limit:
        raise DefinitionError(f"{label}不能超过 {limit} 个字")
    return value.strip()


# --------------------------------------------------------------------------- publishing
def condition_facts() -> dict[str, str]:
    """Names a node condition may use, with their Chinese labels."""
    return {**APPLICATION_FACTS, **rules.fact_labels()}


def note_in_words(note: str, condition: str, labels: Mapping[str, str]) -> str:
    """A node's note as pages show it: its condition in words. Notes keep the expression the
    case started with, the record of what the workflow said then."""
    if not condition or condition not in note:
        return note
    return note.replace(condition, describe(condition, labels))


def problems(
    spec: WorkflowSpec,
    extra_facts: Mapping[str, str] | None = None,
    *,
    facts: Mapping[str, str] | None = None,
) -> list[str]:
    """Why ``spec`` cannot be published (empty when it can run), each naming level or node.

    ``facts`` are the names a condition may use: its owner's (``services.designer``), by
    default an application's (``condition_facts``); ``extra_facts`` add to them (form items).
    """
    found: list[str] = []
    if not spec.levels:
        found.append("工作流至少需要一个审批层级")
    known = {**(condition_facts() if facts is None else facts), **(extra_facts or {})}
    for index, level in enumerate(spec.levels, 1):
        if not level.nodes:
            found.append(f"第 {index} 级「{level.name}」没有审批节点")
        for node in level.nodes:
            found += [
                f"节点「{node.name}」的适用条件：{m}" for m in _condition_problems(node, known)
            ]
            found += [f"节点「{node.name}」{m}" for m in _approver_problems(node.assignee)]
    return found


def _approver_problems(assignee: Assignee) -> list[str]:
    """Nobody to act, or approvers who could not see and decide their tasks (named).

    A node resolved per case is judged by the role it names: its people are known only when a
    case starts (one who cannot decide then shows as a stuck node, ``selectors.stuck_q``).
    """
    ids: list[int] = []
    if not assignee.needs_application:
        ids = candidates.resolve(assignee)
        if not ids:
            return [f"没有可办理的审批人：{candidates.explain_empty(assignee)}"]
    why = candidates.undecidable(assignee, ids)
    return [f"的审批人无法看到和办理审批任务：{why}"] if why else []


def _condition_problems(node: NodeSpec, known: Mapping[str, str]) -> list[str]:
    return rules.check_expression(node.condition, known) if node.condition else []


# --------------------------------------------------------------------------- per case
@dataclass(frozen=True)
class Prepared:
    """The engine definition for one case, and what the spec said about each node."""

    definition: Definition
    notes: dict[str, str]  # node key -> why it does not apply, or why it applies by default


def build_definition(spec: WorkflowSpec, context: CaseContext, facts: Mapping) -> Prepared:
    """Resolve every applicable node's candidates for a case (``context``: its lead department
    and region, ``subjects.CaseContext``); evaluate conditions on its ``facts``.

    A condition that cannot be judged (an unknown attribute) keeps the node: an extra review is
    safer than a skipped one, and the note says so. A node that applies but resolves to nobody
    is a ``DefinitionError`` naming the node and why — the case cannot start without approvers.
    """
    notes: dict[str, str] = {}
    levels = []
    for level in spec.levels:
        nodes = []
        for node in level.nodes:
            applies, note = _applies(node, facts)
            if note:
                notes[node.key] = note
            users: tuple[int, ...] = ()
            if applies:
                users = tuple(candidates.resolve(node.assignee, context=context))
                if not users:
                    why = candidates.explain_empty(node.assignee, context)
                    raise DefinitionError(f"节点「{node.name}」没有可办理的审批人：{why}")
            nodes.append(Node(node.key, users, node.mode, node.on_reject, applies))  # type: ignore[arg-type]
        levels.append(Level(tuple(nodes), level.parallel))
    return Prepared(Definition(tuple(levels)), notes)


def _applies(node: NodeSpec, facts: Mapping) -> tuple[bool, str]:
    if not node.condition:
        return True, ""
    result = rules.evaluate_lines(node.condition, facts)
    if result is True:
        return True, f"满足适用条件：{node.condition}"
    if result is False:
        return False, f"不满足适用条件（{node.condition}），本节点不适用"
    return True, f"适用条件无法判断（{result}），按适用处理"


def drawing(spec: WorkflowSpec) -> tuple[Definition, dict[str, str]] | None:
    """A definition to draw a spec that is still being edited, with node names as labels.

    Candidates are not resolved for a drawing (one placeholder each); levels without nodes are
    left out (``problems`` names them). ``None`` when there is nothing to draw yet.
    """
    levels = [
        Level(tuple(Node(n.key, (0,), n.mode, n.on_reject) for n in level.nodes), level.parallel)  # type: ignore[arg-type]
        for level in spec.levels
        if level.nodes
    ]
    if not levels:
        return None
    return Definition(tuple(levels)), drawing_labels(spec)


def drawing_labels(spec: WorkflowSpec) -> dict[str, str]:
    """Node names as drawn; a node that only applies under a condition says so."""
    return {n.key: f"{n.name}（条件）" if n.condition else n.name for n in spec.nodes()}
